-- Operating the fleet (issue 7): pausing and resuming queues, and unit-bound logins.
--
-- 1. Paused queues. queue.queues holds a row per queue an operator paused or resumed: who, when
--    and why. A paused queue keeps its jobs (nothing is lost, enqueues go on) but no worker
--    claims from it; jobs already running finish under their leases. The state lives here, so
--    it survives worker and database restarts. Resuming sends the queue's NOTIFY, so idle
--    workers claim at once. The engine stays generic: it knows queue names, nothing else. The
--    hotline's own claiming loops honour the same table under the names they wake on:
--    'hotline.sms_outbox' (sms-notify's sending) and 'hotline.sla_timers' (sla-timer's firing).
--    Cost: one primary-key probe of a tiny table per claim (measured in the README).
--
-- 2. Unit-bound logins. hotline.unit_accounts binds a unit login to the unit codes it acts for
--    (like hotline.channel_accounts for channels). The unit actions refuse any other unit's
--    code with HL074; superusers and the schema owner (ops, migrations, the fleet's own tools)
--    are not restricted. A unit reads only tickets assigned to its units, through
--    hotline.my_tickets and hotline.my_assignments.
--
-- Errors: HL074 (this login may not act for that unit). queue.pause/resume refuse a malformed
-- queue name or an empty reason with SQLSTATE 22023, like queue.enqueue.

-- Paused queues --------------------------------------------------------------------------------

CREATE TABLE queue.queues (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    paused      boolean NOT NULL DEFAULT false,
    paused_at   timestamptz,
    paused_by   text,
    reason      text CHECK (length(reason) <= 500),
    resumed_at  timestamptz,
    resumed_by  text,
    CONSTRAINT queues_paused_has_who CHECK (NOT paused OR (paused_at IS NOT NULL AND paused_by IS NOT NULL AND reason IS NOT NULL))
);
COMMENT ON TABLE queue.queues IS 'Queues an operator paused or resumed (queue.pause / queue.resume): a paused queue keeps its jobs but is not claimed from. Who paused it, when and why; who resumed it last. A queue without a row is running.';

-- Whether a queue is paused: one primary-key probe.
CREATE FUNCTION queue.is_paused(p_queue text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM queue.queues q WHERE q.name = p_queue AND q.paused);
END
$$;
COMMENT ON FUNCTION queue.is_paused IS 'True while an operator has the queue paused (queue.queues).';

-- Pause a queue. Returns true when it was running and is paused now, false when it was already
-- paused (then who, when and why stay as first recorded). p_by names the person; the login is
-- recorded beside it.
CREATE FUNCTION queue.pause(p_queue text, p_by text, p_reason text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
DECLARE
    v_changed boolean;
BEGIN
    IF p_queue IS NULL OR p_queue !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('queue.pause: malformed queue name %L', left(p_queue, 80)),
            HINT = '1–63 characters of a-z 0-9 _ . - starting with a letter or digit';
    END IF;
    IF coalesce(btrim(p_by), '') = '' OR length(p_by) > 200 OR coalesce(btrim(p_reason), '') = '' OR length(p_reason) > 500 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'queue.pause: say who pauses (1–200 characters) and why (1–500 characters)';
    END IF;
    INSERT INTO queue.queues AS q (name, paused, paused_at, paused_by, reason)
    VALUES (p_queue, true, now(), format('%s (login %s)', btrim(p_by), session_user), btrim(p_reason))
    ON CONFLICT (name) DO UPDATE
       SET paused = true, paused_at = EXCLUDED.paused_at, paused_by = EXCLUDED.paused_by, reason = EXCLUDED.reason
     WHERE NOT q.paused
    RETURNING true INTO v_changed;
    RETURN coalesce(v_changed, false);
END
$$;
COMMENT ON FUNCTION queue.pause IS 'Stop claims from a queue (its jobs wait; running ones finish). Returns false if it was already paused. Errors 22023.';

-- Resume a queue and wake its workers. Returns true when it was paused.
CREATE FUNCTION queue.resume(p_queue text, p_by text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
DECLARE
    v_changed boolean;
BEGIN
    IF p_queue IS NULL OR p_queue !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('queue.resume: malformed queue name %L', left(p_queue, 80));
    END IF;
    IF coalesce(btrim(p_by), '') = '' OR length(p_by) > 200 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'queue.resume: say who resumes (1–200 characters)';
    END IF;
    UPDATE queue.queues q
       SET paused = false, resumed_at = now(), resumed_by = format('%s (login %s)', btrim(p_by), session_user)
     WHERE q.name = p_queue AND q.paused
    RETURNING true INTO v_changed;
    -- Wake the queue's idle workers (on commit); they would otherwise wait for their backstop poll.
    PERFORM pg_notify('queue_jobs', p_queue);
    RETURN coalesce(v_changed, false);
END
$$;
COMMENT ON FUNCTION queue.resume IS 'Let workers claim from a paused queue again and wake them (NOTIFY). Returns false if it was not paused. Errors 22023.';

-- The claim, unchanged but for the first statement: a paused queue returns nothing and writes
-- nothing (not even the promotion of due delayed jobs, so a paused queue is frozen as it was).
CREATE OR REPLACE FUNCTION queue.claim(p_queue text, p_owner text, p_limit integer, p_lease_seconds double precision)
RETURNS TABLE (id bigint, kind text, payload text, attempt integer, max_attempts integer,
               priority smallint, created_at timestamptz, run_at timestamptz, lease_expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM queue.queues q WHERE q.name = p_queue AND q.paused) THEN
        RETURN;
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE queue.jobs j SET status = 'available'
     WHERE j.id IN (SELECT s.id FROM queue.jobs s
                     WHERE s.queue = p_queue AND s.status = 'scheduled' AND s.run_at <= now()
                     ORDER BY s.run_at LIMIT 1000
                     FOR UPDATE SKIP LOCKED);
    -- The materialized CTE fences the LIMIT so the planner cannot update more rows than asked.
    RETURN QUERY
    WITH picked AS MATERIALIZED (
        SELECT a.id FROM queue.jobs a
         WHERE a.queue = p_queue AND a.status = 'available'
         ORDER BY a.priority, a.id
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED
    )
    UPDATE queue.jobs j
       SET status = 'running', attempt = j.attempt + 1, attempted_at = now(),
           lease_owner = p_owner, lease_expires_at = now() + make_interval(secs => p_lease_seconds)
      FROM picked
     WHERE j.id = picked.id
    RETURNING j.id, j.kind, j.payload::text, j.attempt, j.max_attempts, j.priority,
              j.created_at, j.run_at, j.lease_expires_at;
END
$$;
COMMENT ON FUNCTION queue.claim IS 'Claim up to p_limit runnable jobs of p_queue for p_owner (FOR UPDATE SKIP LOCKED), leased for p_lease_seconds. A paused queue (queue.queues) yields nothing.';

-- A paused queue has nothing to wake up for: an idle worker sleeps until its backstop poll or
-- the resume's NOTIFY, instead of spinning on a due delayed job it may not claim.
CREATE OR REPLACE FUNCTION queue.next_run_at(p_queue text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT s.run_at FROM queue.jobs s
             WHERE s.queue = p_queue AND s.status = 'scheduled'
               AND NOT EXISTS (SELECT 1 FROM queue.queues q WHERE q.name = p_queue AND q.paused)
             ORDER BY s.run_at LIMIT 1);
END
$$;

-- Depth and age per queue, now with the pause and the oldest unfinished job; a paused queue is
-- listed even when it holds no job. The first columns are as before.
CREATE OR REPLACE VIEW queue.queue_stats AS
SELECT s.queue, s.available, s.due, s.scheduled, s.running, s.expired_leases, s.dead, s.oldest_ready_age_seconds,
       coalesce(q.paused, false) AS paused, q.paused_at, q.paused_by, q.reason AS pause_reason,
       s.oldest_job_id, extract(epoch FROM now() - o.created_at)::double precision AS oldest_job_age_seconds
  FROM (SELECT j.queue,
               count(*) FILTER (WHERE j.status = 'available')                           AS available,
               count(*) FILTER (WHERE j.status = 'scheduled' AND j.run_at <= now())     AS due,
               count(*) FILTER (WHERE j.status = 'scheduled' AND j.run_at > now())      AS scheduled,
               count(*) FILTER (WHERE j.status = 'running')                             AS running,
               count(*) FILTER (WHERE j.status = 'running' AND j.lease_expires_at < now()) AS expired_leases,
               count(*) FILTER (WHERE j.status = 'dead')                                AS dead,
               extract(epoch FROM now() - min(j.run_at) FILTER (WHERE j.status = 'available'
                                                                OR (j.status = 'scheduled' AND j.run_at <= now())))::double precision
                                                                                          AS oldest_ready_age_seconds,
               -- Ids grow with creation: the smallest id of a job that is ready or running is the
               -- oldest one still waiting to be done.
               min(j.id) FILTER (WHERE j.status IN ('available', 'running') OR (j.status = 'scheduled' AND j.run_at <= now()))
                                                                                          AS oldest_job_id
          FROM queue.jobs j
         GROUP BY j.queue) s
  LEFT JOIN queue.queues q ON q.name = s.queue AND q.paused
  LEFT JOIN queue.jobs o ON o.id = s.oldest_job_id
UNION ALL
SELECT q.name, 0, 0, 0, 0, 0, 0, NULL, true, q.paused_at, q.paused_by, q.reason, NULL, NULL
  FROM queue.queues q
 WHERE q.paused AND NOT EXISTS (SELECT 1 FROM queue.jobs j WHERE j.queue = q.name);
COMMENT ON VIEW queue.queue_stats IS 'Depth and age per queue: ready jobs, delayed ones, running, expired leases, dead; oldest ready job''s wait in seconds; whether it is paused (who, when, why); the oldest job still to be done (ready or running) and its age since it was enqueued.';

-- The hotline's own claiming loops honour the pause under the names they wake on. Each function
-- is its latest body (sql/0012, sql/0013) with the pause check after the argument checks.

-- sms-notify's claim: nothing while 'hotline.sms_outbox' is paused.
CREATE OR REPLACE FUNCTION hotline.claim_sms(p_owner text, p_limit integer, p_lease_seconds double precision)
RETURNS TABLE (id bigint, phone text, body text, template text, variables text, ticket_no text, unit_code text, attempt integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_rate   integer := (hotline.setting('sms.rate_per_second'))::integer;
    v_cap    integer := (hotline.setting('sms.citizen_daily_cap'))::integer;
    v_tz     text := hotline.setting('time_zone') #>> '{}';
    v_policy text := hotline.setting('sms.unknown_policy') #>> '{}';
    v_limit  integer := p_limit;
    v_now    timestamptz := clock_timestamp();
    r        hotline.sms_rate;
    v_ids    bigint[];
BEGIN
    IF coalesce(p_owner, '') = '' OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000
       OR p_lease_seconds IS NULL OR p_lease_seconds NOT BETWEEN 1 AND 3600 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL103', MESSAGE = 'claim_sms: an owner, limit 1…1000, lease 1…3600 seconds';
    END IF;
    IF queue.is_paused('hotline.sms_outbox') THEN
        RETURN;
    END IF;
    -- A lease that expired while sending: nobody knows whether the gateway got it.
    UPDATE hotline.sms_outbox o
       SET status = CASE WHEN v_policy = 'resend' AND o.attempts < (hotline.setting('sms.max_attempts'))::integer THEN 'pending' ELSE 'unknown' END,
           unknown_count = o.unknown_count + 1, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = v_now,
           last_error = 'outcome unknown: the sender''s lease expired while sending'
     WHERE o.id IN (SELECT x.id FROM hotline.sms_outbox x WHERE x.status = 'sending' AND x.lease_expires_at < v_now
                     ORDER BY x.lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED);

    -- Quiet hours hold at sending time too: a retry, a resend or a backlog must not reach a
    -- citizen at night with a message that is not urgent.
    IF hotline.outside_quiet_hours(v_now) > v_now THEN
        UPDATE hotline.sms_outbox o SET status = 'held', next_attempt_at = hotline.outside_quiet_hours(v_now)
         WHERE o.id IN (SELECT x.id FROM hotline.sms_outbox x
                         WHERE x.status IN ('pending', 'held') AND x.next_attempt_at <= v_now AND x.recipient = 'citizen' AND NOT x.urgent
                         LIMIT 10000 FOR UPDATE SKIP LOCKED);
    END IF;

    IF v_rate > 0 THEN
        SELECT * INTO r FROM hotline.sms_rate WHERE sms_rate.id = 1 FOR UPDATE;
        IF r.window_start < date_trunc('second', v_now) THEN
            r.window_start := date_trunc('second', v_now);
            r.used := 0;
        END IF;
        v_limit := least(v_limit, v_rate - r.used);
        IF v_limit <= 0 THEN
            RETURN;
        END IF;
    END IF;

    WITH due AS (
        SELECT x.id, x.phone, x.recipient FROM hotline.sms_outbox x
         WHERE x.status IN ('pending', 'held') AND x.next_attempt_at <= v_now
         ORDER BY x.priority DESC, x.next_attempt_at, x.id
         LIMIT v_limit
           FOR UPDATE SKIP LOCKED
    ), counted AS (
        -- Citizens' numbers: how many this claim would add today, in order.
        SELECT d.id, d.recipient,
               coalesce(c.sent, 0) + row_number() OVER (PARTITION BY d.phone ORDER BY d.id) AS nth
          FROM due d
          LEFT JOIN hotline.sms_citizen_day c ON c.phone = d.phone AND c.day = (v_now AT TIME ZONE v_tz)::date AND d.recipient = 'citizen'
    ), over_cap AS (
        UPDATE hotline.sms_outbox o
           SET status = 'held', last_error = 'citizen daily cap reached',
               next_attempt_at = hotline.outside_quiet_hours(((v_now AT TIME ZONE v_tz)::date + 1)::timestamp AT TIME ZONE v_tz)
          FROM counted c WHERE o.id = c.id AND c.recipient = 'citizen' AND v_cap > 0 AND c.nth > v_cap
        RETURNING o.id
    ), claimed AS (
        UPDATE hotline.sms_outbox o
           SET status = 'sending', lease_owner = p_owner, attempts = o.attempts + 1,
               lease_expires_at = v_now + make_interval(secs => p_lease_seconds)
          FROM counted c WHERE o.id = c.id AND NOT (c.recipient = 'citizen' AND v_cap > 0 AND c.nth > v_cap)
        RETURNING o.id
    )
    SELECT array_agg(claimed.id) INTO v_ids FROM claimed;

    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO hotline.sms_citizen_day AS d (phone, day, sent)
    SELECT o.phone, (v_now AT TIME ZONE v_tz)::date, count(*) FROM hotline.sms_outbox o
     WHERE o.id = ANY (v_ids) AND o.recipient = 'citizen' GROUP BY o.phone
    ON CONFLICT (phone, day) DO UPDATE SET sent = d.sent + EXCLUDED.sent;
    IF v_rate > 0 THEN
        UPDATE hotline.sms_rate SET window_start = r.window_start, used = r.used + cardinality(v_ids) WHERE sms_rate.id = 1;
    END IF;
    RETURN QUERY
    SELECT o.id, o.phone, o.body, o.template, o.variables::text, t.ticket_no, u.code, o.attempts
      FROM hotline.sms_outbox o
      LEFT JOIN hotline.tickets t ON t.id = o.ticket_id
      LEFT JOIN hotline.handling_units u ON u.id = o.unit_id
     WHERE o.id = ANY (v_ids)
     ORDER BY o.priority DESC, o.id;
END
$$;
COMMENT ON FUNCTION hotline.claim_sms IS 'SMS-notify''s claim: due messages under a lease, within rate and caps; nothing while ''hotline.sms_outbox'' is paused. Error HL103.';

-- While the outbox is paused an idle sender has nothing due to look at (it would spin on due
-- messages it may not claim); the resume's NOTIFY wakes it.
CREATE OR REPLACE FUNCTION hotline.sms_outlook(OUT next_in double precision, OUT unknown integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
BEGIN
    next_in := (SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp())::float8
                  FROM hotline.sms_outbox WHERE status IN ('pending', 'held') AND NOT queue.is_paused('hotline.sms_outbox'));
    unknown := (SELECT count(*)::integer FROM hotline.sms_outbox WHERE status = 'unknown');
END
$$;

-- sla-timer's firing: nothing fires while 'hotline.sla_timers' is paused, and no next point is
-- reported (the worker sleeps its idle look; the resume's NOTIFY wakes it, and the points that
-- fell due meanwhile fire then, each once).
CREATE OR REPLACE FUNCTION hotline.fire_sla_timers(p_now timestamptz DEFAULT NULL, p_limit integer DEFAULT 200)
RETURNS TABLE (fired integer, next_in interval)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
DECLARE
    v_now    timestamptz := coalesce(p_now, clock_timestamp());
    r        record;
    v_action text;
    v_what   text;
    v_fired  integer := 0;
    v_next   timestamptz;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL080', MESSAGE = format('fire_sla_timers: limit must be 1…10000, got %s', coalesce(p_limit::text, 'NULL'));
    END IF;
    IF queue.is_paused('hotline.sla_timers') THEN
        RETURN QUERY SELECT 0, NULL::interval;
        RETURN;
    END IF;
    FOR r IN
        SELECT s.id, s.ticket_id, s.assignment_id, s.kind, s.due_at, s.started_at, s.point_ratios, s.point_actions,
               s.next_point, s.next_fire_at, t.ticket_no, a.unit_id, a.role, u.code AS unit_code, u.name AS unit_name
          FROM hotline.sla_timers s
          JOIN hotline.tickets t ON t.id = s.ticket_id
          JOIN hotline.assignments a ON a.id = s.assignment_id
          JOIN hotline.handling_units u ON u.id = a.unit_id
         WHERE s.status = 'running' AND s.next_fire_at <= v_now
         ORDER BY s.next_fire_at
         LIMIT p_limit
           FOR UPDATE OF s, t SKIP LOCKED
    LOOP
        v_action := r.point_actions[r.next_point];
        v_what := CASE r.kind WHEN 'accept' THEN '签收' ELSE '反馈' END;
        PERFORM hotline.append_event(r.ticket_id, 'process', 'sla-timer',
                                     CASE v_action WHEN 'warn' THEN 'sla_warning' WHEN 'urge' THEN 'sla_overdue' ELSE 'sla_severely_overdue' END,
                                     jsonb_build_object('timer_id', r.id, 'timer', r.kind, 'unit', r.unit_code, 'role', r.role,
                                                        'due_at', r.due_at, 'point', r.point_ratios[r.next_point], 'scheduled_at', r.next_fire_at));
        IF v_action = 'warn' THEN
            PERFORM hotline.sms_unit(r.ticket_id, r.unit_id, 'sla.warning',
                                     jsonb_build_object('unit', r.unit_name, 'ticket_no', r.ticket_no, 'what', v_what,
                                                        'due', hotline.local_minute(r.due_at)));
        ELSIF v_action = 'urge' THEN
            PERFORM hotline.sms_unit(r.ticket_id, r.unit_id, 'sla.urging',
                                     jsonb_build_object('unit', r.unit_name, 'ticket_no', r.ticket_no, 'what', v_what,
                                                        'due', hotline.local_minute(r.due_at)));
            UPDATE hotline.assignments SET overdue_at = coalesce(overdue_at, v_now) WHERE id = r.assignment_id;
            -- One urging per missed deadline of the ticket: the lead's (co-handlers are urged too,
            -- but three late units are not three urgings of the matter).
            IF r.role = 'lead' THEN
                UPDATE hotline.tickets SET urges = urges + 1 WHERE id = r.ticket_id;
            END IF;
        ELSE
            PERFORM hotline.request_escalation(r.ticket_id, 'severely_overdue', 1,
                                               jsonb_build_object('timer_id', r.id, 'timer', r.kind, 'unit', r.unit_code, 'due_at', r.due_at));
        END IF;
        UPDATE hotline.sla_timers
           SET next_point = next_point + 1,
               next_fire_at = CASE WHEN next_point + 1 <= cardinality(point_ratios)
                                   THEN started_at + (due_at - started_at) * point_ratios[next_point + 1]::float8 END,
               last_fired_at = clock_timestamp(),
               overdue_at = CASE WHEN v_action <> 'warn' THEN coalesce(overdue_at, v_now) ELSE overdue_at END
         WHERE id = r.id;
        v_fired := v_fired + 1;
    END LOOP;
    SELECT min(s.next_fire_at) INTO v_next FROM hotline.sla_timers s WHERE s.status = 'running' AND s.next_fire_at IS NOT NULL;
    RETURN QUERY SELECT v_fired, v_next - v_now;
END
$$;
COMMENT ON FUNCTION hotline.fire_sla_timers IS 'The SLA-timer worker''s one call: fire due timer points (warn, urge, escalate) in one transaction; nothing while ''hotline.sla_timers'' is paused. Error HL080.';

-- Who may see the pause table directly (the view shows it to everyone who reads queue_stats).
GRANT SELECT ON queue.queues TO hotline_worker, hotline_supervisor, hotline_analyst;

-- Unit-bound logins --------------------------------------------------------------------------

CREATE TABLE hotline.unit_accounts (
    role_name name NOT NULL,
    unit_code text NOT NULL REFERENCES hotline.handling_units (code) ON UPDATE CASCADE,
    PRIMARY KEY (role_name, unit_code)
);
COMMENT ON TABLE hotline.unit_accounts IS 'Which units each unit login acts for (a login may serve several, e.g. a district platform for its streets): INSERT INTO hotline.unit_accounts VALUES (''cgj_app'', ''XA-CGJ''). A login in hotline_unit with no row here may act for no unit.';

-- May the login of this session act for p_unit? Superusers and the owner of the schema's
-- functions (migrations, ops tools, the fleet's own simulators) may act for any unit; every
-- other login only for the units hotline.unit_accounts binds it to. session_user is the login
-- that connected, which SET ROLE cannot change.
--   HL074 this login may not act for that unit
CREATE FUNCTION hotline.check_unit_login(p_unit text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
DECLARE
    v_units text;
BEGIN
    IF session_user = current_user OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM hotline.unit_accounts a WHERE a.role_name = session_user AND a.unit_code = p_unit) THEN
        RETURN;
    END IF;
    SELECT string_agg(a.unit_code, ', ' ORDER BY a.unit_code) INTO v_units FROM hotline.unit_accounts a WHERE a.role_name = session_user;
    RAISE EXCEPTION USING ERRCODE = 'HL074',
        MESSAGE = format('login %I may not act for unit %L', session_user, left(p_unit, 64)),
        HINT = CASE WHEN v_units IS NULL THEN 'the login is bound to no unit (hotline.unit_accounts)'
                    ELSE format('the login acts for: %s', v_units) END;
END
$$;
COMMENT ON FUNCTION hotline.check_unit_login IS 'Refuses (HL074) a unit action by a login not bound to the unit in hotline.unit_accounts; superusers and the schema owner are not restricted.';

-- Every unit action but take_self_reported starts here (sql/0009, sql/0013): the login check
-- comes first, before the ticket is locked, so a foreign unit learns nothing about the ticket.
--   HL074 not this login's unit   HL040 no such ticket   HL063 ticket closed/cancelled/merged
--   HL061 not assigned to the unit
CREATE OR REPLACE FUNCTION hotline.unit_assignment(p_ticket_id bigint, p_unit text, OUT t hotline.tickets, OUT a hotline.assignments)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM hotline.check_unit_login(p_unit);
    t := hotline.locked_ticket(p_ticket_id);
    IF t.status IN ('closed', 'cancelled', 'merged') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL063', MESSAGE = format('ticket %s is %s; no more actions on it', p_ticket_id, t.status);
    END IF;
    SELECT x.* INTO a FROM hotline.assignments x JOIN hotline.handling_units u ON u.id = x.unit_id
     WHERE x.ticket_id = p_ticket_id AND x.round = t.dispatch_round AND u.code = p_unit AND x.role <> 'cc';
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL061', MESSAGE = format('ticket %s is not assigned to unit %L', p_ticket_id, p_unit);
    END IF;
END
$$;

-- Inner loop (内循环), as in sql/0009, with the login check first.
--   HL074 not this login's unit   HL073 only self-reported tickets   HL066 unknown unit
CREATE OR REPLACE FUNCTION hotline.take_self_reported(p_ticket_id bigint, p_unit text, p_actor text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp AS $$
DECLARE
    t hotline.tickets;
BEGIN
    PERFORM hotline.check_unit_login(p_unit);
    t := hotline.locked_ticket(p_ticket_id);
    IF t.channel <> 'self_report' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL073', MESSAGE = format('ticket %s came from %s; only self-reported tickets are taken by the unit itself', p_ticket_id, t.channel);
    END IF;
    RETURN hotline.record_dispatch(p_ticket_id, 'unit', p_unit,
                                   jsonb_build_object('lead', p_unit, 'co_handlers', '[]'::jsonb, 'cc', '[]'::jsonb,
                                                      'why', 'inner loop: taken by the reporting unit', 'by', p_actor));
END
$$;

-- What a unit login reads: only tickets assigned to its units (any round, any role, cc too),
-- and those assignments. security_barrier keeps a caller's own functions in a WHERE clause from
-- seeing rows before the login filter has removed them. Units handle the matter, so they see the
-- caller's name and number, as on the dispatch SMS's link.
CREATE VIEW hotline.my_assignments WITH (security_barrier) AS
SELECT a.ticket_id, t.ticket_no, a.round, a.round = t.dispatch_round AS current_round, u.code AS unit, a.role, a.status,
       a.dispatched_at, a.accept_due_at, a.feedback_due_at, a.accepted_at, a.feedback_at, a.overdue_at
  FROM hotline.assignments a
  JOIN hotline.handling_units u ON u.id = a.unit_id
  JOIN hotline.tickets t ON t.id = a.ticket_id
 WHERE u.code IN (SELECT m.unit_code FROM hotline.unit_accounts m WHERE m.role_name = session_user);
COMMENT ON VIEW hotline.my_assignments IS 'A unit login''s assignments: its units'' parts of tickets in every round, with deadlines; nothing of other units.';

CREATE VIEW hotline.my_tickets WITH (security_barrier) AS
SELECT t.id AS ticket_id, t.ticket_no, t.status, t.channel, t.received_at, t.content, t.address, t.caller_name, t.caller_phone,
       c.label AS category, t.urgency_class, t.is_enterprise, t.dispatch_round, t.paused_at, t.updated_at,
       (SELECT string_agg(DISTINCT u.code, ',') FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
         WHERE a.ticket_id = t.id AND u.code IN (SELECT m.unit_code FROM hotline.unit_accounts m WHERE m.role_name = session_user)) AS my_units
  FROM hotline.tickets t
  LEFT JOIN hotline.categories c ON c.id = t.category_id
 WHERE EXISTS (SELECT 1 FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
                WHERE a.ticket_id = t.id
                  AND u.code IN (SELECT m.unit_code FROM hotline.unit_accounts m WHERE m.role_name = session_user));
COMMENT ON VIEW hotline.my_tickets IS 'A unit login''s tickets: those assigned to one of its units (hotline.unit_accounts) in any round; nothing else.';

GRANT SELECT ON hotline.my_tickets, hotline.my_assignments TO hotline_unit;

-- The channels' view gets the same protection (sql/0016 made it without).
ALTER VIEW hotline.my_submissions SET (security_barrier = true);

SELECT hotline.secure_functions();
REVOKE ALL ON FUNCTION hotline.secure_functions() FROM PUBLIC;
