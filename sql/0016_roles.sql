-- Roles: one per worker kind with only what it needs, a channel role that can only submit and
-- read its own submissions, a unit role for unit actions, a supervisor role for people who
-- dispatch and supervise, and a read-only analyst role that sees masked phone and ID numbers.
--
-- How: every function in the hotline and queue schemas runs with its owner's rights (SECURITY
-- DEFINER, with a fixed search_path), and nobody may execute a function unless granted. A role
-- then needs EXECUTE on the calls it makes and SELECT on what it reads directly; the tables
-- themselves stay closed. The roles are NOLOGIN groups: a deployment creates its login users
-- IN ROLE them (CREATE ROLE intake_1 LOGIN PASSWORD '…' IN ROLE hotline_intake). Migrate as a
-- dedicated owner role, not a superuser, in production: the functions run with its rights.

-- Roles are per cluster; several databases (and concurrent migrations) may create them.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['hotline_worker', 'hotline_intake', 'hotline_dispatch', 'hotline_sla', 'hotline_escalation',
                                  'hotline_sms', 'hotline_callback', 'hotline_channel', 'hotline_unit', 'hotline_supervisor',
                                  'hotline_analyst'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

-- Every function runs as its owner with a fixed search_path, and is closed to PUBLIC. Later
-- migrations call this again for the functions they add.
CREATE FUNCTION hotline.secure_functions()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f   record;
    v_n integer := 0;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS signature, p.prosecdef
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname IN ('hotline', 'queue') AND p.prokind = 'f' LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp', f.signature);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.signature);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$$;
SELECT hotline.secure_functions();

REVOKE ALL ON SCHEMA hotline, queue FROM PUBLIC;
GRANT USAGE ON SCHEMA hotline, queue TO hotline_worker, hotline_intake, hotline_dispatch, hotline_sla, hotline_escalation,
    hotline_sms, hotline_callback, hotline_channel, hotline_unit, hotline_supervisor, hotline_analyst;

-- Every worker: the queue engine (its runtime reads and writes the job tables directly) and settings.
GRANT hotline_worker TO hotline_intake, hotline_dispatch, hotline_sla, hotline_escalation, hotline_sms, hotline_callback;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA queue TO hotline_worker;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA queue TO hotline_worker;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA queue TO hotline_worker;
GRANT EXECUTE ON FUNCTION hotline.setting(text) TO hotline_worker;

-- Workers lock a group of tickets before deciding about them (in id order, as every function
-- does); through this call they need no UPDATE right on the table. Returns how many it locked.
CREATE FUNCTION hotline.lock_tickets(p_ids bigint[])
RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
    SELECT count(*)::integer FROM (SELECT t.id FROM hotline.tickets t WHERE t.id = ANY (p_ids) ORDER BY t.id FOR UPDATE) locked
$$;
REVOKE ALL ON FUNCTION hotline.lock_tickets(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hotline.lock_tickets(bigint[]) TO hotline_intake, hotline_dispatch;

-- intake-extraction: reads the ticket and what it trains on; writes through record_extraction.
GRANT SELECT ON hotline.tickets, hotline.categories, hotline.jurisdictions, hotline.landmarks, hotline.labelled_texts,
    hotline.kb_articles, hotline.extraction_rules, hotline.settings TO hotline_intake;
GRANT EXECUTE ON FUNCTION hotline.record_extraction TO hotline_intake;

-- auto-dispatch: reads tickets, rules and units; writes through record_dispatch / queue_for_dispatcher.
GRANT SELECT ON hotline.tickets, hotline.dispatch_rules, hotline.handling_units, hotline.jurisdictions, hotline.categories,
    hotline.dispatcher_queue, hotline.assignments TO hotline_dispatch;
GRANT EXECUTE ON FUNCTION hotline.record_dispatch, hotline.queue_for_dispatcher TO hotline_dispatch;

GRANT EXECUTE ON FUNCTION hotline.fire_sla_timers TO hotline_sla;
GRANT EXECUTE ON FUNCTION hotline.open_escalation, hotline.scan_escalations TO hotline_escalation;
GRANT EXECUTE ON FUNCTION hotline.claim_sms, hotline.record_sms_results, hotline.sms_outlook TO hotline_sms;

-- satisfaction-callback: reads inbound replies and surveys, marks replies read.
GRANT SELECT ON hotline.sms_inbound, hotline.callback_surveys TO hotline_callback;
GRANT UPDATE (status) ON hotline.sms_inbound TO hotline_callback;
GRANT EXECUTE ON FUNCTION hotline.send_callback_survey, hotline.callback_timeout, hotline.callback_unclear, hotline.record_callback,
    hotline.lock_reply_ticket TO hotline_callback;

-- Channels: submit as themselves, read their own submissions. Which channel a login speaks for:
CREATE TABLE hotline.channel_accounts (
    role_name name PRIMARY KEY,
    channel   text NOT NULL REFERENCES hotline.channels
);
COMMENT ON TABLE hotline.channel_accounts IS 'Which channel each channel login submits for: INSERT INTO hotline.channel_accounts VALUES (''wechat_gateway'', ''wechat'').';

-- The channel's submission: like hotline.submit_ticket, with the channel taken from the login
-- (session_user: the user that connected, which SET ROLE cannot change).
--   HL009 this login is not a channel account; then HL001–HL008 as submit_ticket
CREATE FUNCTION hotline.channel_submit(p_external_id text, p_content text, p_caller_phone text DEFAULT NULL,
                                       p_caller_name text DEFAULT NULL, p_submitted_at timestamptz DEFAULT NULL,
                                       p_address text DEFAULT NULL, p_extra jsonb DEFAULT '{}')
RETURNS TABLE (ticket_id bigint, ticket_no text, created boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
DECLARE
    v_channel text;
BEGIN
    SELECT a.channel INTO v_channel FROM hotline.channel_accounts a WHERE a.role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL009', MESSAGE = format('login %I is not a channel account (hotline.channel_accounts)', session_user);
    END IF;
    RETURN QUERY SELECT * FROM hotline.submit_ticket(v_channel, p_external_id, p_content, p_caller_phone, p_caller_name,
                                                      p_submitted_at, p_address, p_extra);
END
$$;
REVOKE ALL ON FUNCTION hotline.channel_submit FROM PUBLIC;

CREATE VIEW hotline.my_submissions AS
SELECT t.ticket_no, t.external_id, t.channel, t.status, t.received_at, c.label AS category, t.updated_at
  FROM hotline.tickets t
  LEFT JOIN hotline.categories c ON c.id = t.category_id
 WHERE t.channel = (SELECT a.channel FROM hotline.channel_accounts a WHERE a.role_name = session_user);
COMMENT ON VIEW hotline.my_submissions IS 'A channel login''s own submissions and where they stand; nothing of other channels.';

GRANT EXECUTE ON FUNCTION hotline.channel_submit TO hotline_channel;
GRANT SELECT ON hotline.my_submissions TO hotline_channel;

-- Units' systems: the unit actions.
GRANT EXECUTE ON FUNCTION hotline.accept_ticket, hotline.return_ticket, hotline.whistle, hotline.give_feedback, hotline.request_close,
    hotline.pause_ticket, hotline.resume_ticket, hotline.take_self_reported TO hotline_unit;

-- People who dispatch and supervise.
GRANT EXECUTE ON FUNCTION hotline.dispatcher_decide, hotline.open_supervision, hotline.acknowledge_escalation,
    hotline.resolve_escalation, hotline.resend_sms, hotline.record_callback TO hotline_supervisor;
GRANT SELECT ON hotline.dispatcher_queue, hotline.operator_callbacks, hotline.open_escalations, hotline.hard_ticket_list,
    hotline.overdue_timers, hotline.open_assignments, hotline.tickets_masked TO hotline_supervisor;

-- Analysts: views only; tickets through the masked view.
GRANT SELECT ON hotline.tickets_masked, hotline.tickets_by_channel, hotline.daily_intake, hotline.escalations_by_level,
    hotline.special_ledgers, hotline.hard_ticket_list, hotline.unit_evaluation, hotline.unit_monthly_kpis, hotline.overdue_timers,
    hotline.open_assignments, hotline.open_escalations, queue.queue_stats, queue.running_jobs, queue.dead_jobs TO hotline_analyst;
GRANT EXECUTE ON FUNCTION hotline.setting(text), hotline.evaluation_periods(date) TO hotline_analyst;

-- secure_functions itself is for migrations only.
REVOKE ALL ON FUNCTION hotline.secure_functions() FROM PUBLIC;
