-- Satisfaction callback (回访): closing a ticket schedules a survey SMS to the caller; replies
-- arrive as inbound SMS and are read by the satisfaction-callback worker; unsatisfied or
-- unsolved reopens the ticket to the same lead and escalates; unclear or missing replies go to
-- an operator's phone-callback queue. Results feed the units' monthly KPIs.
-- Rules: ../shared/DOMAIN.md "Callback and evaluation". Errors HL090–HL099, listed at each function.

INSERT INTO hotline.settings (key, value, description) VALUES
    ('callback.delay_minutes', '120', 'Minutes after closing before the survey SMS goes out (then moved out of citizens'' quiet hours).'),
    ('callback.reply_window_hours', '48', 'Hours a survey waits for the reply.'),
    ('callback.no_reply', '"operator"', 'No reply within the window: "operator" (a phone-callback task) or "no_answer" (recorded as not answered).');

CREATE TABLE hotline.callback_surveys (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id      bigint NOT NULL REFERENCES hotline.tickets,
    round          integer NOT NULL,
    lead_unit_id   integer REFERENCES hotline.handling_units,
    phone          text,
    status         text NOT NULL CHECK (status IN ('sent', 'answered', 'operator', 'no_answer', 'skipped')),
    sent_at        timestamptz NOT NULL DEFAULT now(),
    window_ends_at timestamptz,
    answered_at    timestamptz,
    reply          text,
    resolved       boolean,
    satisfaction   text CHECK (satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    answered_by    text,
    CONSTRAINT callback_once_per_round UNIQUE (ticket_id, round)
);
COMMENT ON TABLE hotline.callback_surveys IS 'One satisfaction callback per closed dispatch round: the survey SMS, the reply as read (resolved, satisfaction) or the operator''s answer, and who answered (sms or a person).';
CREATE INDEX callback_surveys_waiting_idx ON hotline.callback_surveys (phone, sent_at) WHERE status = 'sent';

CREATE TABLE hotline.sms_inbound (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone       text NOT NULL CHECK (phone ~ '^[0-9]{7,12}$'),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    received_at timestamptz NOT NULL DEFAULT now(),
    survey_id   bigint REFERENCES hotline.callback_surveys,
    status      text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'read', 'unmatched'))
);
COMMENT ON TABLE hotline.sms_inbound IS 'Text messages citizens sent to the hotline''s number (the gateway writes them through hotline.receive_sms): survey replies are matched to the caller''s open survey.';

CREATE TABLE hotline.operator_callbacks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES hotline.tickets,
    survey_id  bigint NOT NULL UNIQUE REFERENCES hotline.callback_surveys,
    reason     text NOT NULL CHECK (reason IN ('unclear_reply', 'no_reply', 'no_phone')),
    detail     text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'done')),
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz,
    done_by    text
);
COMMENT ON TABLE hotline.operator_callbacks IS 'Phone callbacks for operators: the SMS reply was unclear, none came, or the caller left no number. Never a guess.';
CREATE INDEX operator_callbacks_waiting_idx ON hotline.operator_callbacks (created_at) WHERE status = 'waiting';

-- Closing a round schedules its callback (a delayed job, out of quiet hours).
CREATE FUNCTION hotline.schedule_callback() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM queue.enqueue('satisfaction-callback', 'ticket.callback',
                          jsonb_build_object('ticket_id', NEW.id, 'round', NEW.dispatch_round),
                          hotline.outside_quiet_hours(now() + make_interval(mins => (hotline.setting('callback.delay_minutes'))::integer)),
                          0::smallint, 20, format('ticket:%s:callback:%s', NEW.id, NEW.dispatch_round));
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_schedule_callback AFTER UPDATE OF status ON hotline.tickets
    FOR EACH ROW WHEN (NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed')
    EXECUTE FUNCTION hotline.schedule_callback();

-- Sends the survey for a closed round (the worker's ticket.callback job). Returns the survey,
-- or NULL when there is nothing to ask (reopened since, or already surveyed).
--   HL040 no such ticket
CREATE FUNCTION hotline.send_callback_survey(p_ticket_id bigint, p_round integer)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t      hotline.tickets;
    v_lead integer;
    v_id   bigint;
    v_ends timestamptz := now() + make_interval(hours => (hotline.setting('callback.reply_window_hours'))::integer);
BEGIN
    t := hotline.locked_ticket(p_ticket_id);
    IF t.status <> 'closed' OR t.dispatch_round <> p_round THEN
        RETURN NULL;
    END IF;
    SELECT a.unit_id INTO v_lead FROM hotline.assignments a WHERE a.ticket_id = p_ticket_id AND a.round = p_round AND a.role = 'lead';
    INSERT INTO hotline.callback_surveys (ticket_id, round, lead_unit_id, phone, status, window_ends_at)
    VALUES (p_ticket_id, p_round, v_lead, t.caller_phone, CASE WHEN t.caller_phone IS NULL THEN 'operator' ELSE 'sent' END,
            CASE WHEN t.caller_phone IS NULL THEN NULL ELSE v_ends END)
    ON CONFLICT ON CONSTRAINT callback_once_per_round DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF t.caller_phone IS NULL THEN
        INSERT INTO hotline.operator_callbacks (ticket_id, survey_id, reason) VALUES (p_ticket_id, v_id, 'no_phone');
        PERFORM hotline.append_event(p_ticket_id, 'process', 'satisfaction-callback', 'callback_queued',
                                     jsonb_build_object('survey_id', v_id, 'reason', 'no_phone'));
        RETURN v_id;
    END IF;
    PERFORM hotline.queue_sms('callback.survey', t.caller_phone, jsonb_build_object('ticket_no', t.ticket_no),
                              p_ticket_id, NULL, format('survey:%s', v_id));
    PERFORM queue.enqueue('satisfaction-callback', 'survey.timeout', jsonb_build_object('survey_id', v_id), v_ends,
                          0::smallint, 20, format('survey:%s:timeout', v_id));
    PERFORM hotline.append_event(p_ticket_id, 'process', 'satisfaction-callback', 'callback_sent',
                                 jsonb_build_object('survey_id', v_id, 'round', p_round, 'window_ends_at', v_ends));
    RETURN v_id;
END
$$;

-- Locks the ticket an inbound reply belongs to: the reply job takes it before it reads the
-- survey's state, as every function that changes a survey does. Returns the ticket's id.
CREATE FUNCTION hotline.lock_reply_ticket(p_inbound_id bigint)
RETURNS bigint
LANGUAGE sql AS $$
    SELECT t.id FROM hotline.tickets t
     WHERE t.id = (SELECT s.ticket_id FROM hotline.sms_inbound i JOIN hotline.callback_surveys s ON s.id = i.survey_id
                    WHERE i.id = p_inbound_id)
       FOR UPDATE
$$;

-- The gateway's (or a test's) write for every inbound SMS: matched to the sender's newest open
-- survey, and handed to the worker to read. Returns the row's id.
--   HL091 malformed phone   HL092 empty or oversize body
CREATE FUNCTION hotline.receive_sms(p_phone text, p_body text, p_received_at timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_phone  text := hotline.normalize_phone(p_phone);
    v_survey bigint;
    v_id     bigint;
BEGIN
    IF v_phone IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL091', MESSAGE = format('malformed sender phone %L', left(p_phone, 40));
    END IF;
    IF p_body IS NULL OR length(btrim(p_body)) = 0 OR length(p_body) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL092', MESSAGE = 'an inbound SMS body is 1…1000 characters';
    END IF;
    SELECT s.id INTO v_survey FROM hotline.callback_surveys s
     WHERE s.phone = v_phone AND s.status = 'sent' AND s.window_ends_at > coalesce(p_received_at, now())
     ORDER BY s.sent_at DESC LIMIT 1;
    INSERT INTO hotline.sms_inbound (phone, body, received_at, survey_id, status)
    VALUES (v_phone, p_body, coalesce(p_received_at, now()), v_survey, CASE WHEN v_survey IS NULL THEN 'unmatched' ELSE 'new' END)
    RETURNING id INTO v_id;
    IF v_survey IS NOT NULL THEN
        PERFORM queue.enqueue('satisfaction-callback', 'sms.reply', jsonb_build_object('inbound_id', v_id),
                              NULL, 0::smallint, 20, format('inbound:%s', v_id));
    END IF;
    RETURN v_id;
END
$$;

-- Records an answer (read from an SMS by the worker, or given to an operator on the phone).
-- Unsatisfied or unsolved reopens the ticket to the round's lead and escalates: level 1 the
-- first time, level 2 from the second unsatisfied answer on. Returns the new round (0: none).
--   HL093 no such survey, or it is already answered   HL094 neither resolved nor satisfaction given
CREATE FUNCTION hotline.record_callback(p_survey_id bigint, p_resolved boolean, p_satisfaction text, p_reply text, p_by text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s        hotline.callback_surveys;
    t        hotline.tickets;
    v_lead   text;
    v_round  integer := 0;
    v_level  integer;
BEGIN
    IF p_satisfaction IS NOT NULL AND p_satisfaction NOT IN ('satisfied', 'basically_satisfied', 'unsatisfied') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL094', MESSAGE = format('unknown satisfaction %L (satisfied, basically_satisfied, unsatisfied)', left(p_satisfaction, 40));
    END IF;
    IF p_resolved IS NULL AND p_satisfaction IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL094', MESSAGE = 'a callback answer says whether it is resolved, how satisfied, or both';
    END IF;
    SELECT * INTO s FROM hotline.callback_surveys WHERE id = p_survey_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL093', MESSAGE = format('no callback survey %s', p_survey_id);
    END IF;
    t := hotline.locked_ticket(s.ticket_id);
    UPDATE hotline.callback_surveys
       SET status = 'answered', answered_at = now(), reply = left(p_reply, 1000), resolved = p_resolved,
           satisfaction = p_satisfaction, answered_by = p_by
     WHERE id = p_survey_id AND status IN ('sent', 'operator')
    RETURNING * INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL093', MESSAGE = format('callback survey %s is already answered or closed', p_survey_id);
    END IF;
    UPDATE hotline.operator_callbacks SET status = 'done', done_at = now(), done_by = p_by WHERE survey_id = p_survey_id AND status = 'waiting';
    PERFORM hotline.append_event(s.ticket_id, 'process', 'satisfaction-callback', 'callback_answered',
                                 jsonb_build_object('survey_id', p_survey_id, 'resolved', p_resolved, 'satisfaction', p_satisfaction, 'by', p_by));
    IF p_satisfaction = 'unsatisfied' OR p_resolved = false THEN
        IF t.status = 'closed' AND t.dispatch_round = s.round THEN
            SELECT u.code INTO v_lead FROM hotline.handling_units u WHERE u.id = s.lead_unit_id;
            UPDATE hotline.tickets SET status = 'reopened', closed_at = NULL, updated_at = now() WHERE id = s.ticket_id;
            PERFORM hotline.append_event(s.ticket_id, 'process', 'satisfaction-callback', 'reopened',
                                         jsonb_build_object('survey_id', p_survey_id, 'lead', v_lead));
            IF v_lead IS NOT NULL AND EXISTS (SELECT 1 FROM hotline.handling_units u WHERE u.code = v_lead AND u.active) THEN
                v_round := hotline.record_dispatch(s.ticket_id, 'process', 'satisfaction-callback',
                                                   jsonb_build_object('lead', v_lead, 'co_handlers', '[]'::jsonb, 'cc', '[]'::jsonb,
                                                                      'why', 'reopened: the citizen was not satisfied or the matter is unsolved'));
            ELSE
                -- The lead no longer exists as a unit: a dispatcher decides who takes it over.
                PERFORM hotline.queue_for_dispatcher(s.ticket_id, '{reopened_lead_inactive}', '[]');
            END IF;
        END IF;
        SELECT least(2, count(*))::integer INTO v_level FROM hotline.callback_surveys c
         WHERE c.ticket_id = s.ticket_id AND c.status = 'answered' AND (c.satisfaction = 'unsatisfied' OR c.resolved = false);
        PERFORM hotline.request_escalation(s.ticket_id, 'unsatisfied', v_level,
                                           jsonb_build_object('survey_id', p_survey_id, 'resolved', p_resolved, 'satisfaction', p_satisfaction));
    END IF;
    RETURN v_round;
END
$$;
COMMENT ON FUNCTION hotline.record_callback IS 'Record a callback answer; unsatisfied or unsolved reopens to the same lead and escalates. Errors HL093, HL094.';

-- An SMS reply the worker could not read: a person calls back instead of anyone guessing.
--   HL093 no such survey, or not waiting for a reply
CREATE FUNCTION hotline.callback_unclear(p_survey_id bigint, p_reply text, p_detail text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s hotline.callback_surveys;
BEGIN
    SELECT * INTO s FROM hotline.callback_surveys WHERE id = p_survey_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL093', MESSAGE = format('no callback survey %s', p_survey_id);
    END IF;
    PERFORM hotline.locked_ticket(s.ticket_id);
    UPDATE hotline.callback_surveys SET status = 'operator', reply = left(p_reply, 1000) WHERE id = p_survey_id AND status = 'sent';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL093', MESSAGE = format('callback survey %s is not waiting for a reply', p_survey_id);
    END IF;
    INSERT INTO hotline.operator_callbacks (ticket_id, survey_id, reason, detail) VALUES (s.ticket_id, p_survey_id, 'unclear_reply', coalesce(p_detail, ''));
    PERFORM hotline.append_event(s.ticket_id, 'process', 'satisfaction-callback', 'callback_queued',
                                 jsonb_build_object('survey_id', p_survey_id, 'reason', 'unclear_reply', 'reply', left(p_reply, 200)));
END
$$;

-- The reply window closed without an answer: by policy an operator calls, or it is recorded as
-- not answered. A survey answered meanwhile is left alone. Returns what happened.
CREATE FUNCTION hotline.callback_timeout(p_survey_id bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s        hotline.callback_surveys;
    v_policy text := hotline.setting('callback.no_reply') #>> '{}';
BEGIN
    SELECT * INTO s FROM hotline.callback_surveys WHERE id = p_survey_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL093', MESSAGE = format('no callback survey %s', p_survey_id);
    END IF;
    PERFORM hotline.locked_ticket(s.ticket_id);
    SELECT * INTO s FROM hotline.callback_surveys WHERE id = p_survey_id;
    IF s.status <> 'sent' THEN
        RETURN 'answered';
    END IF;
    IF v_policy = 'operator' THEN
        UPDATE hotline.callback_surveys SET status = 'operator' WHERE id = p_survey_id;
        INSERT INTO hotline.operator_callbacks (ticket_id, survey_id, reason) VALUES (s.ticket_id, p_survey_id, 'no_reply');
    ELSE
        UPDATE hotline.callback_surveys SET status = 'no_answer' WHERE id = p_survey_id;
    END IF;
    PERFORM hotline.append_event(s.ticket_id, 'process', 'satisfaction-callback',
                                 CASE WHEN v_policy = 'operator' THEN 'callback_queued' ELSE 'callback_unanswered' END,
                                 jsonb_build_object('survey_id', p_survey_id, 'reason', 'no_reply'));
    RETURN CASE WHEN v_policy = 'operator' THEN 'operator' ELSE 'no_answer' END;
END
$$;

-- The units' monthly evaluation (考核评价): response rate (accepted within the deadline /
-- dispatched to them as lead or co-handler), resolution rate and satisfaction rate (of the
-- callbacks that said so; basically satisfied counts as satisfied).
CREATE VIEW hotline.unit_monthly_kpis AS
WITH handled AS (
    SELECT a.unit_id, date_trunc('month', a.dispatched_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date AS month,
           count(*) AS dispatched,
           count(*) FILTER (WHERE a.accepted_at IS NOT NULL AND a.accepted_at <= a.accept_due_at) AS accepted_in_time
      FROM hotline.assignments a
     WHERE a.role IN ('lead', 'co_handler')
     GROUP BY 1, 2
), answered AS (
    SELECT c.lead_unit_id AS unit_id, date_trunc('month', c.sent_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date AS month,
           count(*) FILTER (WHERE c.resolved IS NOT NULL) AS said_resolved,
           count(*) FILTER (WHERE c.resolved) AS resolved,
           count(*) FILTER (WHERE c.satisfaction IS NOT NULL) AS rated,
           count(*) FILTER (WHERE c.satisfaction IN ('satisfied', 'basically_satisfied')) AS satisfied
      FROM hotline.callback_surveys c
     WHERE c.status = 'answered' AND c.lead_unit_id IS NOT NULL
     GROUP BY 1, 2
)
SELECT u.code AS unit, u.name AS unit_name, coalesce(h.month, a.month) AS month,
       coalesce(h.dispatched, 0) AS dispatched, coalesce(h.accepted_in_time, 0) AS accepted_in_time,
       round(h.accepted_in_time::numeric / nullif(h.dispatched, 0), 4) AS response_rate,
       coalesce(a.resolved, 0) AS resolved, round(a.resolved::numeric / nullif(a.said_resolved, 0), 4) AS resolution_rate,
       coalesce(a.satisfied, 0) AS satisfied, round(a.satisfied::numeric / nullif(a.rated, 0), 4) AS satisfaction_rate
  FROM handled h
  FULL JOIN answered a ON a.unit_id = h.unit_id AND a.month = h.month
  JOIN hotline.handling_units u ON u.id = coalesce(h.unit_id, a.unit_id);
COMMENT ON VIEW hotline.unit_monthly_kpis IS 'Per unit and month: response rate (accepted in time / dispatched), resolution rate and satisfaction rate from callbacks.';
