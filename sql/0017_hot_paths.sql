-- Hot paths: PL/pgSQL instead of planning SQL functions on every call, one index for a
-- caller's earlier tickets, and wake-ups sent after a job's commit instead of inside it.
--
-- 1. PL/pgSQL. Since 0016 every function here is SECURITY DEFINER with a fixed search_path. PostgreSQL 15
-- never inlines such a function, and a LANGUAGE sql function that is not inlined has its body
-- planned again on every call from a PL/pgSQL statement (PL/pgSQL, by contrast, keeps each
-- statement's plan for the session). pg_stat_statements on the dispatch benchmark showed it:
-- start_sla_timers took 2.9 ms of its own per call, sms_unit 1.5 ms, append_event 0.5 ms,
-- queue.complete 0.7 ms and normalize_phone 0.26 ms — mostly planning. Each function below is
-- the same function (signature, volatility, behaviour, errors), restated in PL/pgSQL. New
-- functions in this project are written in PL/pgSQL for the same reason.

-- queue ------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION queue.append_error(p_errors jsonb, p_entry jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_array_length(p_errors) >= 20 THEN
        RETURN (p_errors - 0) || jsonb_build_array(p_entry);
    END IF;
    RETURN p_errors || jsonb_build_array(p_entry);
END
$$;

CREATE OR REPLACE FUNCTION queue.extend_leases(p_owner text, p_ids bigint[], p_lease_seconds double precision)
RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
    UPDATE queue.jobs j SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
     WHERE j.id = ANY (p_ids) AND j.status = 'running' AND j.lease_owner = p_owner
    RETURNING j.id;
END
$$;

CREATE OR REPLACE FUNCTION queue.complete(p_owner text, p_ids bigint[])
RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH done AS (
        DELETE FROM queue.jobs j
         WHERE j.id = ANY (p_ids) AND j.status = 'running' AND j.lease_owner = p_owner
        RETURNING j.*
    )
    INSERT INTO queue.finished_jobs AS f (id, queue, kind, payload, status, priority, attempt, max_attempts,
                                          unique_key, created_at, attempted_at, finished_by, errors)
    SELECT d.id, d.queue, d.kind, d.payload, 'completed', d.priority, d.attempt, d.max_attempts,
           d.unique_key, d.created_at, d.attempted_at, p_owner, d.errors
      FROM done d
    RETURNING f.id;
END
$$;

CREATE OR REPLACE FUNCTION queue.complete_batch(p_owner text, p_ids bigint[])
RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY SELECT queue.complete(p_owner, p_ids);
END
$$;

CREATE OR REPLACE FUNCTION queue.worker_heartbeat(p_owner text, p_worker_kind text, p_queues text[], p_host text,
                                                  p_pid integer, p_in_flight integer, p_stopping boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO queue.workers (owner, worker_kind, queues, host, pid, in_flight, stopping)
    VALUES (p_owner, p_worker_kind, p_queues, p_host, p_pid, p_in_flight, p_stopping)
    ON CONFLICT (owner) DO UPDATE
       SET last_seen_at = now(), in_flight = EXCLUDED.in_flight, stopping = EXCLUDED.stopping;
END
$$;

CREATE OR REPLACE FUNCTION queue.fail(p_owner text, p_id bigint, p_error text,
                                      p_retry_in_seconds double precision, p_permanent boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE queue.jobs j
       SET status = CASE WHEN p_permanent OR j.attempt >= j.max_attempts THEN 'dead' ELSE 'scheduled' END,
           run_at = CASE WHEN p_permanent OR j.attempt >= j.max_attempts THEN j.run_at
                         ELSE now() + make_interval(secs => greatest(p_retry_in_seconds, 0)) END,
           lease_owner = NULL, lease_expires_at = NULL,
           errors = queue.append_error(j.errors, jsonb_build_object(
               'attempt', j.attempt, 'at', now(), 'owner', p_owner, 'error', left(p_error, 4000)))
     WHERE j.id = p_id AND j.status = 'running' AND j.lease_owner = p_owner
    RETURNING j.status INTO v_status;
    RETURN v_status;
END
$$;

CREATE OR REPLACE FUNCTION queue.cancel(p_id bigint, p_reason text DEFAULT 'cancelled')
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    WITH gone AS (
        DELETE FROM queue.jobs j WHERE j.id = p_id RETURNING j.*
    )
    INSERT INTO queue.finished_jobs AS f (id, queue, kind, payload, status, priority, attempt, max_attempts,
                                          unique_key, created_at, attempted_at, finished_by, errors)
    SELECT g.id, g.queue, g.kind, g.payload, 'cancelled', g.priority, g.attempt, g.max_attempts,
           g.unique_key, g.created_at, g.attempted_at, current_user,
           queue.append_error(g.errors, jsonb_build_object(
               'attempt', g.attempt, 'at', now(), 'owner', current_user, 'error', p_reason))
      FROM gone g
    RETURNING f.id INTO v_id;
    RETURN v_id IS NOT NULL;
END
$$;

CREATE OR REPLACE FUNCTION queue.next_run_at(p_queue text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT s.run_at FROM queue.jobs s
             WHERE s.queue = p_queue AND s.status = 'scheduled'
             ORDER BY s.run_at LIMIT 1);
END
$$;

-- tickets and their event log ---------------------------------------------------------------------

CREATE OR REPLACE FUNCTION hotline.event_hash(p_prev bytea, p_ticket_id bigint, p_seq integer, p_at timestamptz,
                                              p_actor_kind text, p_actor text, p_event text, p_details jsonb)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN sha256(convert_to(concat_ws('|', coalesce(encode(p_prev, 'hex'), '-'), p_ticket_id, p_seq,
                                       (extract(epoch FROM p_at) * 1000000)::bigint,
                                       p_actor_kind, p_actor, p_event, p_details::text), 'UTF8'));
END
$$;

CREATE OR REPLACE FUNCTION hotline.append_event(p_ticket_id bigint, p_actor_kind text, p_actor text, p_event text,
                                                p_details jsonb DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_seq integer;
BEGIN
    INSERT INTO hotline.ticket_events (ticket_id, actor_kind, actor, event, details)
    VALUES (p_ticket_id, p_actor_kind, p_actor, p_event, coalesce(p_details, '{}'))
    RETURNING seq INTO v_seq;
    RETURN v_seq;
END
$$;

CREATE OR REPLACE FUNCTION hotline.normalize_phone(p_text text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d text := regexp_replace(regexp_replace(translate(p_text, '０１２３４５６７８９', '0123456789'),
                                            '[\s\-()（）]', '', 'g'),
                             '^(\+86|0086|86(?=1[3-9][0-9]{9}$))', '');
BEGIN
    IF d ~ '^1[3-9][0-9]{9}$'
       OR (d ~ '^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$' AND length(d) BETWEEN 10 AND 12)
       OR d ~ '^[2-9][0-9]{6,7}$' THEN
        RETURN d;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hotline.lock_tickets(p_ids bigint[])
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(*)::integer FROM (SELECT t.id FROM hotline.tickets t WHERE t.id = ANY (p_ids) ORDER BY t.id FOR UPDATE) locked);
END
$$;

-- A ticket not yet extracted is an open matter too: repeat calls are linked to it rather than
-- racing its extraction (see open_matter_of).
CREATE OR REPLACE FUNCTION hotline.is_open_matter(p_status text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN p_status IN ('received', 'extracted', 'dispatched', 'accepted', 'in_progress', 'feedback_given', 'returned', 'reopened');
END
$$;

-- The open ticket a new one repeats (as in 0006), robust to the order in which concurrent
-- extractions finish: a caller's earlier ticket counts while still waiting for its own
-- extraction, and a later one counts once it is being handled (extracted or further) — so
-- whichever of two calls about one matter is extracted second is linked to the other, however
-- the two extraction groups interleave. Earlier tickets are preferred.
CREATE OR REPLACE FUNCTION hotline.open_matter_of(p_ticket_id bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t       hotline.tickets;
    v_found bigint;
    v_days  integer := (hotline.setting('repeat_call.window_days'))::integer;
    v_sim   real := (hotline.setting('repeat_call.min_similarity'))::real;
BEGIN
    SELECT * INTO t FROM hotline.tickets WHERE id = p_ticket_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL040', MESSAGE = format('no ticket %s', p_ticket_id);
    END IF;
    -- "我上次反映的 2026112500000042 …": callers quote the number the operator gave them.
    SELECT o.id INTO v_found
      FROM regexp_matches(t.content, '(20[0-9]{14})', 'g') AS m(no)
      JOIN hotline.tickets o ON o.ticket_no = m.no[1]
     WHERE o.id <> t.id AND hotline.is_open_matter(o.status)
     ORDER BY o.received_at DESC LIMIT 1;
    IF v_found IS NOT NULL OR t.caller_phone IS NULL THEN
        RETURN v_found;
    END IF;
    SELECT o.id INTO v_found
      FROM hotline.tickets o
     WHERE o.caller_phone = t.caller_phone
       AND o.id <> t.id
       AND hotline.is_open_matter(o.status)
       AND o.received_at BETWEEN t.received_at - make_interval(days => v_days) AND t.received_at + make_interval(days => v_days)
       AND (o.received_at <= t.received_at OR o.status <> 'received')
       AND (o.district_id IS NULL OR t.district_id IS NULL OR o.district_id = t.district_id)
       AND (o.category_id = t.category_id OR hotline.text_similarity(o.content, t.content) >= v_sim)
     ORDER BY (o.received_at <= t.received_at) DESC, (o.category_id = t.category_id) DESC, o.received_at DESC
     LIMIT 1;
    RETURN v_found;
END
$$;

CREATE OR REPLACE FUNCTION hotline.is_dispatchable(p_status text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN p_status IN ('extracted', 'returned', 'reopened');
END
$$;

CREATE OR REPLACE FUNCTION hotline.text_similarity(a text, b text)
RETURNS real
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v_a text := regexp_replace(coalesce(a, ''), '[[:space:][:punct:][:digit:]，。！？、；：“”‘’（）《》０-９]', '', 'g');
    v_b text := regexp_replace(coalesce(b, ''), '[[:space:][:punct:][:digit:]，。！？、；：“”‘’（）《》０-９]', '', 'g');
    v_union  bigint;
    v_common bigint;
BEGIN
    WITH ga AS (SELECT DISTINCT substr(v_a, i, 2) AS g FROM generate_series(1, length(v_a) - 1) i),
         gb AS (SELECT DISTINCT substr(v_b, i, 2) AS g FROM generate_series(1, length(v_b) - 1) i)
    SELECT (SELECT count(*) FROM (SELECT g FROM ga UNION SELECT g FROM gb) x),
           (SELECT count(*) FROM (SELECT g FROM ga INTERSECT SELECT g FROM gb) x)
      INTO v_union, v_common;
    IF v_union = 0 THEN
        RETURN 0::real;
    END IF;
    RETURN v_common::real / v_union::real;
END
$$;

-- SMS ----------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION hotline.local_minute(p_at timestamptz)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN to_char(p_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'), 'MM-DD HH24:MI');
END
$$;

CREATE OR REPLACE FUNCTION hotline.template_placeholders(p_body text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]) FILTER (WHERE m[1] <> 'link'), '{}')
              FROM regexp_matches(p_body, '\{([a-z_]+)\}', 'g') AS m);
END
$$;

CREATE OR REPLACE FUNCTION hotline.sms_segments(p_body text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_body ~ '^[\x20-\x7E\n]*$' THEN
        RETURN CASE WHEN length(p_body) <= 160 THEN 1 ELSE ceil(length(p_body) / 153.0)::integer END;
    END IF;
    RETURN CASE WHEN length(p_body) <= 70 THEN 1 ELSE ceil(length(p_body) / 67.0)::integer END;
END
$$;

CREATE OR REPLACE FUNCTION hotline.sms_unit(p_ticket_id bigint, p_unit_id integer, p_template text, p_variables jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_sent integer;
BEGIN
    INSERT INTO hotline.sms_outbox (ticket_id, unit_id, phone, template, variables)
    SELECT p_ticket_id, u.id, p.phone, p_template, p_variables
      FROM hotline.handling_units u, jsonb_array_elements(u.contacts) c,
           LATERAL (SELECT hotline.normalize_phone(c->>'phone') AS phone) p
     WHERE u.id = p_unit_id AND p.phone IS NOT NULL;
    GET DIAGNOSTICS v_sent = ROW_COUNT;
    RETURN v_sent;
END
$$;

CREATE OR REPLACE FUNCTION hotline.sms_outlook(OUT next_in double precision, OUT unknown integer)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    next_in := (SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp())::float8
                  FROM hotline.sms_outbox WHERE status IN ('pending', 'held'));
    unknown := (SELECT count(*)::integer FROM hotline.sms_outbox WHERE status = 'unknown');
END
$$;

-- SLA timers and escalation ------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION hotline.is_working_day(p_day date)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce((SELECT c.working FROM hotline.calendar_days c WHERE c.day = p_day), extract(isodow FROM p_day) < 6);
END
$$;

CREATE OR REPLACE FUNCTION hotline.start_sla_timers(p_ticket_id bigint, p_round integer, p_class text, p_start timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_started integer;
BEGIN
    -- Each policy's deadline once (a working-day deadline reads the calendar), then its timers.
    WITH policy AS MATERIALIZED (
        SELECT p.timer_kind, p.roles, hotline.sla_deadline(p.urgency_class, p.timer_kind, p_start) AS due,
               (SELECT coalesce(array_agg(x.at_ratio ORDER BY x.at_ratio), '{}') FROM hotline.sla_policy_points x
                 WHERE x.urgency_class = p.urgency_class AND x.timer_kind = p.timer_kind) AS ratios,
               (SELECT coalesce(array_agg(x.action ORDER BY x.at_ratio), '{}') FROM hotline.sla_policy_points x
                 WHERE x.urgency_class = p.urgency_class AND x.timer_kind = p.timer_kind) AS actions
          FROM hotline.sla_policies p
         WHERE p.urgency_class = coalesce(p_class, 'normal')
    )
    INSERT INTO hotline.sla_timers AS s (ticket_id, assignment_id, kind, due_at, started_at, point_ratios, point_actions, next_point, next_fire_at)
    SELECT p_ticket_id, a.id, p.timer_kind, p.due, p_start, p.ratios, p.actions, 1,
           p_start + (p.due - p_start) * p.ratios[1]::float8
      FROM policy p
      JOIN hotline.assignments a ON a.ticket_id = p_ticket_id AND a.round = p_round AND a.dispatched_at = p_start
                                AND a.role = ANY (p.roles)
    ON CONFLICT ON CONSTRAINT sla_timers_one_per_kind DO NOTHING;
    GET DIAGNOSTICS v_started = ROW_COUNT;
    RETURN v_started;
END
$$;

-- One dispatch round (see 0009 and 0013): the same checks, errors and rows, with every unit's
-- assignment in one statement and every unit contact's message in another, instead of three
-- statements per unit.
CREATE OR REPLACE FUNCTION hotline.record_dispatch(p_ticket_id bigint, p_actor_kind text, p_actor text, p_plan jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t          hotline.tickets;
    u          hotline.urgency_classes;
    v_round    integer;
    v_co       text[];
    v_codes    text[];
    v_missing  text;
    v_now      timestamptz := now();
    v_accept   timestamptz;
    v_feedback timestamptz;
    v_due_text text;
    v_liaison  text;
BEGIN
    IF p_plan IS NULL OR jsonb_typeof(p_plan) <> 'object' OR jsonb_typeof(p_plan->'lead') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL071', MESSAGE = 'a dispatch plan is a JSON object with a "lead" unit code';
    END IF;
    t := hotline.locked_ticket(p_ticket_id);
    IF NOT hotline.is_dispatchable(t.status) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL063', MESSAGE = format('ticket %s is %s and cannot be dispatched', p_ticket_id, t.status);
    END IF;
    SELECT * INTO u FROM hotline.urgency_classes WHERE code = coalesce(t.urgency_class, 'normal');
    v_accept := hotline.sla_deadline(u.code, 'accept', v_now);
    v_feedback := hotline.sla_deadline(u.code, 'feedback', v_now);
    v_due_text := hotline.local_minute(v_accept);

    v_co := coalesce(ARRAY(SELECT jsonb_array_elements_text(p_plan->'co_handlers')), '{}');
    v_codes := ARRAY[p_plan->>'lead'] || v_co || coalesce(ARRAY(SELECT jsonb_array_elements_text(p_plan->'cc')), '{}');
    IF (SELECT count(DISTINCT c) FROM unnest(v_codes) c) <> cardinality(v_codes) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL071', MESSAGE = format('a unit appears twice in the plan: %s', array_to_string(v_codes, ', '));
    END IF;
    SELECT c.code INTO v_missing
      FROM unnest(v_codes) WITH ORDINALITY AS c(code, ord)
     WHERE NOT EXISTS (SELECT 1 FROM hotline.handling_units h WHERE h.code = c.code AND h.active)
     ORDER BY c.ord LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL066', MESSAGE = format('unknown or inactive handling unit %L', v_missing);
    END IF;

    v_round := t.dispatch_round + 1;
    -- In the plan's order: the lead first, then co-handlers, then cc.
    INSERT INTO hotline.assignments (ticket_id, round, unit_id, role, status, dispatched_at, accept_due_at, feedback_due_at)
    SELECT p_ticket_id, v_round, h.id, r.role, CASE WHEN r.role = 'cc' THEN 'informed' ELSE 'pending' END, v_now,
           CASE WHEN r.role = 'cc' THEN NULL ELSE v_accept END,
           CASE WHEN r.role = 'cc' THEN NULL ELSE v_feedback END
      FROM unnest(v_codes) WITH ORDINALITY AS c(code, ord)
      JOIN hotline.handling_units h ON h.code = c.code
     CROSS JOIN LATERAL (SELECT CASE WHEN c.ord = 1 THEN 'lead' WHEN c.code = ANY (v_co) THEN 'co_handler' ELSE 'cc' END AS role) r
     ORDER BY c.ord;
    -- Every contact of every unit, in the same order.
    INSERT INTO hotline.sms_outbox (ticket_id, unit_id, phone, template, variables)
    SELECT p_ticket_id, h.id, ph.phone, 'dispatch.' || a.role,
           jsonb_build_object('unit', h.name, 'ticket_no', t.ticket_no, 'class', u.name)
           || CASE WHEN a.role = 'cc' THEN '{}'::jsonb ELSE jsonb_build_object('accept_due', v_due_text) END
      FROM hotline.assignments a
      JOIN hotline.handling_units h ON h.id = a.unit_id
     CROSS JOIN LATERAL jsonb_array_elements(h.contacts) WITH ORDINALITY AS k(contact, n)
     CROSS JOIN LATERAL (SELECT hotline.normalize_phone(k.contact->>'phone') AS phone) ph
     WHERE a.ticket_id = p_ticket_id AND a.round = v_round AND ph.phone IS NOT NULL
     ORDER BY a.id, k.n;

    PERFORM hotline.start_sla_timers(p_ticket_id, v_round, u.code, v_now);

    IF jsonb_typeof(p_plan->'linkage') = 'array' AND jsonb_array_length(p_plan->'linkage') > 0 THEN
        INSERT INTO hotline.linkage_records (ticket_id, service, reason)
        SELECT p_ticket_id, s, coalesce(p_plan->>'why', 'emergency')
          FROM jsonb_array_elements_text(p_plan->'linkage') s
        ON CONFLICT ON CONSTRAINT linkage_once DO NOTHING;
    END IF;

    IF t.is_enterprise THEN
        v_liaison := hotline.setting('enterprise.liaison_unit') #>> '{}';
        INSERT INTO hotline.enterprise_cases (ticket_id, liaison_unit_id, work_group)
        SELECT p_ticket_id, l.id, v_codes FROM hotline.handling_units l WHERE l.code = v_liaison
        ON CONFLICT (ticket_id) DO UPDATE SET work_group = EXCLUDED.work_group;
    END IF;

    UPDATE hotline.tickets
       SET status = 'dispatched', dispatch_round = v_round, dispatched_at = v_now, updated_at = v_now,
           special_ledger = CASE WHEN is_enterprise AND NOT 'enterprise' = ANY (special_ledger)
                                 THEN array_append(special_ledger, 'enterprise') ELSE special_ledger END
     WHERE id = p_ticket_id;
    UPDATE hotline.dispatcher_queue SET status = 'decided', decided_at = v_now, decided_by = p_actor
     WHERE ticket_id = p_ticket_id AND status = 'waiting';
    PERFORM hotline.append_event(p_ticket_id, p_actor_kind, p_actor, 'dispatched',
                                 p_plan || jsonb_build_object('round', v_round, 'accept_due_at', v_accept, 'feedback_due_at', v_feedback));
    RETURN v_round;
END
$$;

CREATE OR REPLACE FUNCTION hotline.escalation_key(p_ticket_id bigint, p_trigger text, p_level integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN format('ticket:%s:escalate:%s:%s', p_ticket_id, p_trigger, p_level);
END
$$;

CREATE OR REPLACE FUNCTION hotline.escalation_pending(p_ticket_id bigint, p_trigger text, p_level integer)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM hotline.escalations e
                    WHERE e.ticket_id = p_ticket_id AND e.trigger = p_trigger AND e.level = p_level AND e.state <> 'resolved')
        OR EXISTS (SELECT 1 FROM queue.jobs j
                    WHERE j.queue = 'escalation' AND j.unique_key = hotline.escalation_key(p_ticket_id, p_trigger, p_level));
END
$$;

CREATE OR REPLACE FUNCTION hotline.escalation_recipients(p_ticket_id bigint, p_level integer)
RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        WITH lead AS (
            SELECT u.* FROM hotline.tickets t
              JOIN hotline.assignments a ON a.ticket_id = t.id AND a.round = t.dispatch_round AND a.role = 'lead'
              JOIN hotline.handling_units u ON u.id = a.unit_id
             WHERE t.id = p_ticket_id
             LIMIT 1
        ), place AS (
            SELECT coalesce(
                     (SELECT CASE WHEN l.kind = 'government' THEN coalesce(j.parent_id, j.id) ELSE j.id END
                        FROM lead l JOIN hotline.jurisdictions j ON j.id = l.jurisdiction_id),
                     (SELECT t.district_id FROM hotline.tickets t WHERE t.id = p_ticket_id),
                     (SELECT j.id FROM hotline.jurisdictions j WHERE j.level = 'city' LIMIT 1)) AS jurisdiction_id
        ), leaders AS (
            SELECT u.code FROM place p JOIN hotline.handling_units u ON u.jurisdiction_id = p.jurisdiction_id AND u.kind = 'government' AND u.active
             ORDER BY u.id LIMIT 1
        )
        SELECT array_agg(DISTINCT c) FROM (
            SELECT code AS c FROM leaders
            UNION ALL SELECT hotline.setting('escalation.supervising_unit') #>> '{}'
            UNION ALL SELECT hotline.setting('escalation.discipline_unit') #>> '{}' WHERE p_level >= 2
        ) x WHERE c IS NOT NULL);
END
$$;

-- Satisfaction callback and evaluation -----------------------------------------------------------

CREATE OR REPLACE FUNCTION hotline.lock_reply_ticket(p_inbound_id bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT t.id INTO v_id FROM hotline.tickets t
     WHERE t.id = (SELECT s.ticket_id FROM hotline.sms_inbound i JOIN hotline.callback_surveys s ON s.id = i.survey_id
                    WHERE i.id = p_inbound_id)
       FOR UPDATE;
    RETURN v_id;
END
$$;

CREATE OR REPLACE FUNCTION hotline.evaluation_periods(p_day date)
RETURNS TABLE (period text, starts date)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN QUERY VALUES
        ('month'::text, date_trunc('month', p_day)::date),
        ('quarter', date_trunc('quarter', p_day)::date),
        ('half_year', make_date(extract(year FROM p_day)::integer, CASE WHEN extract(month FROM p_day) <= 6 THEN 1 ELSE 7 END, 1)),
        ('year', date_trunc('year', p_day)::date);
END
$$;


-- Extraction groups run side by side, so two calls from one caller can be extracted at the
-- same moment, each unable to see the other's uncommitted state. intake-extraction takes these
-- locks (transaction advisory locks, one per caller, in one sorted order so groups cannot
-- deadlock) before recording a group: the second group waits for the first to commit and
-- then sees the other call. Then it locks the tickets themselves, in id order (one round trip
-- for both). Returns how many callers it locked.
CREATE FUNCTION hotline.lock_callers(p_ticket_ids bigint[], p_phones text[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    IF cardinality(p_ticket_ids) IS DISTINCT FROM cardinality(p_phones) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL047', MESSAGE = 'lock_callers needs one phone (or null) per ticket';
    END IF;
    SELECT count(pg_advisory_xact_lock(7345, k)) INTO v_n FROM (
        SELECT DISTINCT hashtext(coalesce(t.caller_phone, hotline.normalize_phone(x.phone))) AS k
          FROM unnest(p_ticket_ids, p_phones) AS x(id, phone)
          JOIN hotline.tickets t ON t.id = x.id
         WHERE coalesce(t.caller_phone, hotline.normalize_phone(x.phone)) IS NOT NULL
         ORDER BY 1) callers;
    PERFORM hotline.lock_tickets(p_ticket_ids);
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION hotline.lock_callers IS 'Serialises the extraction of one caller''s tickets across concurrent transactions (advisory locks, sorted), so repeat calls are linked however extraction groups interleave; then locks the tickets in id order.';

-- 2. A caller's earlier tickets by phone and time in one index. With separate indexes on phone and
-- on received_at, the generic plan PL/pgSQL settles on for open_matter_of and record_extraction
-- ANDed both bitmaps, reading every ticket of the last 30 days for each new ticket (13,000 index
-- entries per call in the benchmark; it grows with the city's volume).
CREATE INDEX tickets_caller_received_idx ON hotline.tickets (caller_phone, received_at) WHERE caller_phone IS NOT NULL;
DROP INDEX hotline.tickets_caller_phone_idx;

-- 3. Wake-ups after commit.
--
-- A transaction that has called pg_notify takes a cluster-wide lock at commit and holds it until
-- its commit record is flushed, so every notifying commit waits for the one before it to reach
-- the disk. The benchmark showed it: with intake-extraction and auto-dispatch each enqueueing or
-- texting in every group transaction, half of the database's active samples waited on that lock
-- ("Lock: object") and the two stages together ran at ~160 tickets/s. A wake-up is only a hint
-- (a lost one costs a poll interval, never a job), so a worker's job transaction defers them:
-- queue.defer_wakeups() at its start makes queue.wake() collect payloads instead of notifying,
-- queue.deferred_wakeups() hands them to the worker before COMMIT, and the worker sends them
-- after its commit with queue.send_wakeups(), in a transaction of its own that commits
-- asynchronously (it writes nothing that must survive a crash), so it holds the lock for
-- microseconds. Everyone else (channels, DBAs, units) still notifies inside the transaction.

CREATE FUNCTION queue.defer_wakeups() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('queue.defer_wakeups', 'on', true);
    PERFORM set_config('queue.deferred_wakeups', '', true);
END
$$;
COMMENT ON FUNCTION queue.defer_wakeups IS 'For a worker''s job transaction: queue.wake() collects payloads until COMMIT instead of notifying; read them with queue.deferred_wakeups() and send them after the commit with queue.send_wakeups().';

-- Wakes the workers of a queue (payload: the queue's name, or a table a worker loop watches).
CREATE FUNCTION queue.wake(p_payload text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_pending text;
BEGIN
    IF current_setting('queue.defer_wakeups', true) = 'on' THEN
        v_pending := coalesce(current_setting('queue.deferred_wakeups', true), '');
        IF NOT p_payload = ANY (string_to_array(v_pending, E'\n')) THEN
            PERFORM set_config('queue.deferred_wakeups',
                               CASE WHEN v_pending = '' THEN p_payload ELSE v_pending || E'\n' || p_payload END, true);
        END IF;
    ELSE
        PERFORM pg_notify('queue_jobs', p_payload);
    END IF;
END
$$;
COMMENT ON FUNCTION queue.wake IS 'NOTIFY queue_jobs with the payload now, or, in a transaction that called queue.defer_wakeups(), remember it for the worker to send after COMMIT.';

CREATE FUNCTION queue.deferred_wakeups() RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce(string_to_array(nullif(current_setting('queue.deferred_wakeups', true), ''), E'\n'), '{}');
END
$$;

CREATE FUNCTION queue.send_wakeups(p_payloads text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    p text;
    v_n integer := 0;
BEGIN
    -- Called on its own after the job's commit: nothing here needs to survive a crash.
    PERFORM set_config('synchronous_commit', 'off', true);
    FOREACH p IN ARRAY coalesce(p_payloads, '{}') LOOP
        IF length(p) BETWEEN 1 AND 200 THEN
            PERFORM pg_notify('queue_jobs', p);
            v_n := v_n + 1;
        END IF;
    END LOOP;
    RETURN v_n;
END
$$;

CREATE OR REPLACE FUNCTION queue.notify_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    q text;
BEGIN
    FOR q IN SELECT DISTINCT n.queue FROM new_jobs n LOOP
        PERFORM queue.wake(q);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hotline.notify_sms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_messages n WHERE n.status = 'pending' AND n.next_attempt_at <= now() + interval '1 second') THEN
        PERFORM queue.wake('hotline.sms_outbox');
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION hotline.notify_sla_timers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_timers n
                WHERE n.status = 'running'
                  AND n.next_fire_at < now() + make_interval(secs => (hotline.setting('sla.notify_horizon_seconds'))::float8)) THEN
        PERFORM queue.wake('hotline.sla_timers');
    END IF;
    RETURN NULL;
END
$$;

-- 4. The chain head in a narrow table.
--
-- Every event used to rewrite the whole ticket row (content, extraction record, ten indexes) just
-- to move its chain head: three extra copies of each ticket between submit and dispatch. The
-- head (count, last hash, last time) now lives in its own narrow row, which a new event updates
-- in place (fillfactor leaves room for PostgreSQL's heap-only updates). Events are still
-- serialised per ticket by the ticket's row lock, which every writer takes first; the trigger
-- takes it too, for writers that did not.

CREATE TABLE hotline.ticket_chain_heads (
    ticket_id       bigint PRIMARY KEY REFERENCES hotline.tickets,
    event_count     integer NOT NULL CHECK (event_count > 0),
    last_event_hash bytea NOT NULL,
    last_event_at   timestamptz NOT NULL
) WITH (fillfactor = 50);
COMMENT ON TABLE hotline.ticket_chain_heads IS 'Each ticket''s event-chain head: how many events it has, the last one''s hash and time. hotline.verify_ticket_chain compares the chain with it, so a deleted last event is detected too.';

INSERT INTO hotline.ticket_chain_heads (ticket_id, event_count, last_event_hash, last_event_at)
SELECT t.id, t.event_count, t.last_event_hash,
       coalesce((SELECT e.at FROM hotline.ticket_events e WHERE e.ticket_id = t.id ORDER BY e.seq DESC LIMIT 1), t.updated_at)
  FROM hotline.tickets t WHERE t.event_count > 0;

CREATE OR REPLACE FUNCTION hotline.chain_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
    v_head  bytea;
BEGIN
    -- A no-op for the usual writer, which already holds the ticket's lock.
    PERFORM 1 FROM hotline.tickets t WHERE t.id = NEW.ticket_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL020', MESSAGE = format('no ticket %s', NEW.ticket_id);
    END IF;
    SELECT h.event_count, h.last_event_hash INTO v_count, v_head
      FROM hotline.ticket_chain_heads h WHERE h.ticket_id = NEW.ticket_id;
    NEW.seq := coalesce(v_count, 0) + 1;
    NEW.prev_hash := v_head;
    NEW.hash := hotline.event_hash(v_head, NEW.ticket_id, NEW.seq, NEW.at, NEW.actor_kind, NEW.actor, NEW.event, NEW.details);
    IF v_count IS NULL THEN
        INSERT INTO hotline.ticket_chain_heads (ticket_id, event_count, last_event_hash, last_event_at)
        VALUES (NEW.ticket_id, NEW.seq, NEW.hash, NEW.at);
    ELSE
        UPDATE hotline.ticket_chain_heads SET event_count = NEW.seq, last_event_hash = NEW.hash, last_event_at = NEW.at
         WHERE ticket_id = NEW.ticket_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION hotline.verify_ticket_chain(p_ticket_id bigint)
RETURNS TABLE (ok boolean, events_checked integer, first_bad_seq integer, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    e       record;
    v_prev  bytea := NULL;
    v_n     integer := 0;
    v_count integer;
    v_head  bytea;
BEGIN
    PERFORM 1 FROM hotline.tickets t WHERE t.id = p_ticket_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, 0, NULL::integer, format('no ticket %s', p_ticket_id);
        RETURN;
    END IF;
    SELECT h.event_count, h.last_event_hash INTO v_count, v_head FROM hotline.ticket_chain_heads h WHERE h.ticket_id = p_ticket_id;
    v_count := coalesce(v_count, 0);
    FOR e IN SELECT * FROM hotline.ticket_events WHERE ticket_id = p_ticket_id ORDER BY seq LOOP
        v_n := v_n + 1;
        IF e.seq <> v_n THEN
            RETURN QUERY SELECT false, v_n, v_n, format('event %s is missing (found %s next)', v_n, e.seq);
            RETURN;
        END IF;
        IF e.prev_hash IS DISTINCT FROM v_prev THEN
            RETURN QUERY SELECT false, v_n, e.seq, 'does not follow the previous event''s hash';
            RETURN;
        END IF;
        IF e.hash <> hotline.event_hash(e.prev_hash, e.ticket_id, e.seq, e.at, e.actor_kind, e.actor, e.event, e.details) THEN
            RETURN QUERY SELECT false, v_n, e.seq, 'content was changed after it was written';
            RETURN;
        END IF;
        v_prev := e.hash;
    END LOOP;
    IF v_n <> v_count OR v_prev IS DISTINCT FROM v_head THEN
        RETURN QUERY SELECT false, v_n, v_n + 1, format('the ticket records %s events but %s remain', v_count, v_n);
        RETURN;
    END IF;
    RETURN QUERY SELECT true, v_n, NULL::integer, NULL::text;
END
$$;

ALTER TABLE hotline.tickets DROP COLUMN event_count, DROP COLUMN last_event_hash;

-- "When did anything last happen to it": the ticket row or its last event, whichever is later.
CREATE OR REPLACE VIEW hotline.tickets_masked AS
SELECT t.id, t.ticket_no, t.channel, t.status, t.content,
       CASE WHEN t.caller_phone IS NULL THEN NULL
            WHEN length(t.caller_phone) >= 7 THEN left(t.caller_phone, 3) || repeat('*', length(t.caller_phone) - 7) || right(t.caller_phone, 4)
            ELSE repeat('*', length(t.caller_phone)) END AS caller_phone,
       CASE WHEN t.caller_id_number IS NULL THEN NULL
            ELSE left(t.caller_id_number, 4) || repeat('*', greatest(length(t.caller_id_number) - 6, 0)) || right(t.caller_id_number, 2) END
           AS caller_id_number,
       t.address, t.received_at, t.district_id, t.street_id, t.category_id, t.urgency_class,
       t.is_enterprise, t.is_sensitive, t.merged_into, greatest(t.updated_at, h.last_event_at) AS updated_at
  FROM hotline.tickets t
  LEFT JOIN hotline.ticket_chain_heads h ON h.ticket_id = t.id;

CREATE OR REPLACE VIEW hotline.my_submissions AS
SELECT t.ticket_no, t.external_id, t.channel, t.status, t.received_at, c.label AS category,
       greatest(t.updated_at, h.last_event_at) AS updated_at
  FROM hotline.tickets t
  LEFT JOIN hotline.categories c ON c.id = t.category_id
  LEFT JOIN hotline.ticket_chain_heads h ON h.ticket_id = t.id
 WHERE t.channel = (SELECT a.channel FROM hotline.channel_accounts a WHERE a.role_name = session_user);

-- CREATE OR REPLACE keeps grants but resets SECURITY DEFINER and the fixed search_path.
SELECT hotline.secure_functions();

-- Every worker runs job transactions.
GRANT EXECUTE ON FUNCTION queue.defer_wakeups(), queue.deferred_wakeups(), queue.send_wakeups(text[]) TO hotline_worker;
GRANT EXECUTE ON FUNCTION hotline.lock_callers(bigint[], text[]) TO hotline_intake;
