-- SLA timers and escalation: deadline policies as data, a working-day calendar, timers that
-- warn, urge and escalate, pause/resume, escalation records, supervision (督办) and the monthly
-- hard-ticket list. Rules: ../shared/DOMAIN.md "Urgency classes and deadlines" and "Abnormal
-- tickets escalate automatically". Errors HL080–HL089, listed at each function.

INSERT INTO hotline.settings (key, value, description) VALUES
    ('sla.notify_horizon_seconds', '60', 'A new timer due within this many seconds wakes the SLA-timer worker at once; later ones are found by its periodic look.'),
    ('escalation.urges', '3', 'Urges (SLA urging plus repeat calls) after which a ticket escalates as repeatedly urged.'),
    ('escalation.overdue_ratio', '1.0', 'A running timer overdue by this share of its allowance is severely overdue (1.0 = 100 %).'),
    ('escalation.open_days', '30', 'Days after which an open ticket is long unresolved (久办不结).'),
    ('escalation.supervisions', '3', 'Supervisions without result after which a ticket escalates to the discipline commission (level 2).'),
    ('escalation.supervising_unit', '"XA-DCS"', 'The supervising department told of every escalation.'),
    ('escalation.discipline_unit', '"XA-JW"', 'The discipline commission told of level-2 escalations.'),
    ('hard_ticket.settle_days', '15', 'Days an unclear-responsibility ticket may stay open before it is listed as a hard ticket for the city joint meeting.');

INSERT INTO hotline.handling_units (code, name, level, kind, jurisdiction_id, contacts)
SELECT 'XA-DCS', '西安市人民政府督查室', 'city', 'department', j.id,
       '[{"role": "督查专员", "name": "督查室值班", "phone": "13800009902"}]'
  FROM hotline.jurisdictions j WHERE j.code = '610100';

-- Working-day calendar ------------------------------------------------------------------------

CREATE TABLE hotline.calendar_days (
    day     date PRIMARY KEY,
    working boolean NOT NULL,
    note    text NOT NULL DEFAULT ''
);
COMMENT ON TABLE hotline.calendar_days IS 'Exceptions to Monday–Friday: public holidays (working = false) and swapped working days on weekends (调休, working = true). A city loads each year''s notice here.';

-- 2026 from the State Council's holiday notice; verify against the published notice each year.
INSERT INTO hotline.calendar_days (day, working, note)
SELECT d::date, false, n FROM (VALUES
    ('2026-01-01', '2026-01-03', '元旦'), ('2026-02-15', '2026-02-23', '春节'), ('2026-04-04', '2026-04-06', '清明节'),
    ('2026-05-01', '2026-05-05', '劳动节'), ('2026-06-19', '2026-06-21', '端午节'), ('2026-09-25', '2026-09-27', '中秋节'),
    ('2026-10-01', '2026-10-07', '国庆节')) AS h(a, b, n),
  generate_series(h.a::date, h.b::date, interval '1 day') d;
INSERT INTO hotline.calendar_days (day, working, note) VALUES
    ('2026-01-04', true, '元旦调休上班'), ('2026-02-14', true, '春节调休上班'), ('2026-02-28', true, '春节调休上班'),
    ('2026-05-09', true, '劳动节调休上班'), ('2026-09-20', true, '国庆节调休上班'), ('2026-10-10', true, '国庆节调休上班');

CREATE FUNCTION hotline.is_working_day(p_day date)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.working FROM hotline.calendar_days c WHERE c.day = p_day), extract(isodow FROM p_day) < 6)
$$;

-- p_days working days after p_start: the same time of day on the p_days-th working day after the
-- start's date; a start on a non-working day counts from the next working day, so the deadline
-- is the end of the p_days-th working day.
--   HL080 days not in 1…366   HL082 the calendar has no such working day within reach
CREATE FUNCTION hotline.add_working_days(p_start timestamptz, p_days integer)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_tz    text := hotline.setting('time_zone') #>> '{}';
    v_local timestamp := p_start AT TIME ZONE v_tz;
    v_day   date;
BEGIN
    IF p_start IS NULL OR p_days IS NULL OR p_days NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL080', MESSAGE = format('working days must be 1…366 from a start time, got %s', coalesce(p_days::text, 'NULL'));
    END IF;
    SELECT g.d::date INTO v_day
      FROM generate_series(v_local::date + 1, v_local::date + 2 * p_days + 40, interval '1 day') AS g(d)
      LEFT JOIN hotline.calendar_days c ON c.day = g.d::date
     WHERE coalesce(c.working, extract(isodow FROM g.d) < 6)
     ORDER BY g.d OFFSET p_days - 1 LIMIT 1;
    IF v_day IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL082', MESSAGE = format('the calendar has no %s working days after %s', p_days, v_local::date);
    END IF;
    IF hotline.is_working_day(v_local::date) THEN
        RETURN (v_day + v_local::time) AT TIME ZONE v_tz;
    END IF;
    RETURN (v_day + 1)::timestamp AT TIME ZONE v_tz;
END
$$;

-- SLA policies --------------------------------------------------------------------------------

CREATE TABLE hotline.sla_policies (
    urgency_class text NOT NULL REFERENCES hotline.urgency_classes ON UPDATE CASCADE,
    timer_kind    text NOT NULL CHECK (timer_kind IN ('accept', 'feedback')),
    allowance     interval NOT NULL CHECK (allowance > interval '0'),
    day_kind      text NOT NULL DEFAULT 'calendar' CHECK (day_kind IN ('calendar', 'working')),
    -- Which assignment roles the timer runs for (a summoned unit only has to report in).
    roles         text[] NOT NULL CHECK (roles <@ ARRAY['lead', 'co_handler', 'summoned'] AND cardinality(roles) > 0),
    PRIMARY KEY (urgency_class, timer_kind),
    -- Working-day allowances are whole days.
    CHECK (day_kind = 'calendar' OR (allowance = make_interval(days => extract(day FROM allowance)::integer) AND extract(day FROM allowance) >= 1))
);
COMMENT ON TABLE hotline.sla_policies IS 'Deadline per urgency class and timer: the allowance from dispatch, in calendar time or working days (hotline.calendar_days). urgency_classes.accept_within/feedback_within mirror it for display.';

CREATE TABLE hotline.sla_policy_points (
    urgency_class text NOT NULL,
    timer_kind    text NOT NULL,
    at_ratio      numeric NOT NULL CHECK (at_ratio > 0 AND at_ratio <= 10),
    action        text NOT NULL CHECK (action IN ('warn', 'urge', 'escalate')),
    PRIMARY KEY (urgency_class, timer_kind, at_ratio),
    FOREIGN KEY (urgency_class, timer_kind) REFERENCES hotline.sla_policies ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE hotline.sla_policy_points IS 'When a running timer acts, as a share of its allowance: warn the handler (0.75), urge at the deadline (1.0), request escalation when severely overdue (2.0 = overdue by 100 %). A timer copies its points when it starts.';

-- Keeps the urgency classes' displayed allowances equal to the policies.
CREATE FUNCTION hotline.mirror_sla_policy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE hotline.urgency_classes
       SET accept_within = CASE WHEN NEW.timer_kind = 'accept' THEN NEW.allowance ELSE accept_within END,
           feedback_within = CASE WHEN NEW.timer_kind = 'feedback' THEN NEW.allowance ELSE feedback_within END,
           working_days = CASE WHEN NEW.timer_kind = 'feedback' THEN NEW.day_kind = 'working' ELSE working_days END
     WHERE code = NEW.urgency_class;
    RETURN NULL;
END
$$;
CREATE TRIGGER sla_policies_mirror AFTER INSERT OR UPDATE ON hotline.sla_policies
    FOR EACH ROW EXECUTE FUNCTION hotline.mirror_sla_policy();

-- Accepting is due within the hour, day and night; complex matters get 15 working days.
INSERT INTO hotline.sla_policies (urgency_class, timer_kind, allowance, day_kind, roles)
SELECT u.code, k.kind, CASE k.kind WHEN 'accept' THEN u.accept_within ELSE u.feedback_within END,
       CASE WHEN k.kind = 'feedback' AND u.code = 'complex' THEN 'working' ELSE 'calendar' END,
       CASE k.kind WHEN 'accept' THEN ARRAY['lead', 'co_handler', 'summoned'] ELSE ARRAY['lead', 'co_handler'] END
  FROM hotline.urgency_classes u CROSS JOIN (VALUES ('accept'), ('feedback')) AS k(kind);
INSERT INTO hotline.sla_policy_points (urgency_class, timer_kind, at_ratio, action)
SELECT p.urgency_class, p.timer_kind, x.r, x.a
  FROM hotline.sla_policies p CROSS JOIN (VALUES (0.75, 'warn'), (1.0, 'urge'), (2.0, 'escalate')) AS x(r, a);

-- The deadline of a class's timer started at p_start.   HL081 no policy for the class and kind
CREATE FUNCTION hotline.sla_deadline(p_class text, p_kind text, p_start timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p hotline.sla_policies;
BEGIN
    SELECT * INTO p FROM hotline.sla_policies WHERE urgency_class = coalesce(p_class, 'normal') AND timer_kind = p_kind;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL081', MESSAGE = format('no SLA policy for class %L and timer %L', p_class, p_kind);
    END IF;
    IF p.day_kind = 'working' THEN
        RETURN hotline.add_working_days(p_start, extract(day FROM p.allowance)::integer);
    END IF;
    RETURN p_start + p.allowance;
END
$$;

-- SLA timers ----------------------------------------------------------------------------------

ALTER TABLE hotline.sla_timers
    DROP CONSTRAINT sla_timers_status_check,
    ADD CONSTRAINT sla_timers_status_check CHECK (status IN ('running', 'paused', 'met', 'breached', 'cancelled')),
    ADD COLUMN point_ratios   numeric[] NOT NULL DEFAULT '{}',
    ADD COLUMN point_actions  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN next_point     integer NOT NULL DEFAULT 1,
    ADD COLUMN next_fire_at   timestamptz,
    ADD COLUMN last_fired_at  timestamptz,
    ADD COLUMN overdue_at     timestamptz,
    ADD COLUMN paused_left    interval,
    ADD COLUMN paused_fire_left interval,
    ADD CONSTRAINT sla_timers_points CHECK (cardinality(point_ratios) = cardinality(point_actions));
COMMENT ON COLUMN hotline.sla_timers.next_fire_at IS 'When the next point (point_ratios[next_point] of the allowance) acts; NULL when all have acted. A late action still meets the timer: met late = stopped_at > due_at.';
COMMENT ON COLUMN hotline.sla_timers.paused_left IS 'While paused (waiting for the citizen): the time that was left until due_at.';
-- sla_timers_running_idx (due_at) stays: the rule scan and overdue_timers look by deadline.
CREATE INDEX sla_timers_next_fire_idx ON hotline.sla_timers (next_fire_at) WHERE status = 'running' AND next_fire_at IS NOT NULL;
CREATE INDEX sla_timers_ticket_idx ON hotline.sla_timers (ticket_id);
ALTER TABLE hotline.sla_timers SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

ALTER TABLE hotline.assignments ADD COLUMN overdue_at timestamptz;
COMMENT ON COLUMN hotline.assignments.overdue_at IS 'When one of the assignment''s deadlines first passed unmet.';
ALTER TABLE hotline.tickets ADD COLUMN urges integer NOT NULL DEFAULT 0, ADD COLUMN paused_at timestamptz;
-- The few open tickets an event-driven trigger may concern, and the open ones by age and with
-- unclear responsibility, so the rule scan never reads the closed millions.
CREATE INDEX tickets_escalation_candidates_idx ON hotline.tickets (id)
    WHERE (is_sensitive OR returns > 0 OR urges + repeat_calls > 0) AND status NOT IN ('closed', 'cancelled', 'merged');
CREATE INDEX tickets_open_received_idx ON hotline.tickets (received_at) WHERE status NOT IN ('closed', 'cancelled', 'merged');
CREATE INDEX tickets_unclear_open_idx ON hotline.tickets (received_at)
    WHERE 'unclear_responsibility' = ANY (special_ledger) AND status NOT IN ('closed', 'cancelled', 'merged');
COMMENT ON COLUMN hotline.tickets.urges IS 'Urgings (催办) the SLA-timer sent at missed deadlines; with repeat_calls it drives the repeated-urging escalation.';

-- Timers already running keep their deadline and get the default points.
UPDATE hotline.sla_timers s
   SET point_ratios = '{0.75,1.0,2.0}', point_actions = '{warn,urge,escalate}', next_point = 1,
       next_fire_at = s.started_at + (s.due_at - s.started_at) * 0.75
 WHERE s.status = 'running';

-- Starts, in one statement, the timers a class's policies give the assignments of a round made
-- at p_start (a dispatch, or a whistle's summoned units); each deadline is computed once per
-- policy, not per unit. Assignments that already have their timers are left alone. Returns
-- how many timers started.
CREATE FUNCTION hotline.start_sla_timers(p_ticket_id bigint, p_round integer, p_class text, p_start timestamptz)
RETURNS integer
LANGUAGE sql AS $$
    WITH started AS (
        INSERT INTO hotline.sla_timers AS s (ticket_id, assignment_id, kind, due_at, started_at, point_ratios, point_actions, next_point, next_fire_at)
        SELECT p_ticket_id, a.id, p.timer_kind, d.due, p_start, pts.ratios, pts.actions, 1,
               p_start + (d.due - p_start) * pts.ratios[1]::float8
          FROM hotline.sla_policies p
          CROSS JOIN LATERAL (SELECT hotline.sla_deadline(p.urgency_class, p.timer_kind, p_start) AS due) d
          CROSS JOIN LATERAL (SELECT coalesce(array_agg(x.at_ratio ORDER BY x.at_ratio), '{}') AS ratios,
                                     coalesce(array_agg(x.action ORDER BY x.at_ratio), '{}') AS actions
                                FROM hotline.sla_policy_points x
                               WHERE x.urgency_class = p.urgency_class AND x.timer_kind = p.timer_kind) pts
          JOIN hotline.assignments a ON a.ticket_id = p_ticket_id AND a.round = p_round AND a.dispatched_at = p_start
                                    AND a.role = ANY (p.roles)
         WHERE p.urgency_class = coalesce(p_class, 'normal')
        ON CONFLICT ON CONSTRAINT sla_timers_one_per_kind DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM started
$$;

-- A timer due soon wakes the SLA-timer worker (through the queue's wake-up channel; the payload
-- names the table, not a queue). Later timers need no wake-up: the worker looks again in time.
CREATE FUNCTION hotline.notify_sla_timers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_timers n
                WHERE n.status = 'running'
                  AND n.next_fire_at < now() + make_interval(secs => (hotline.setting('sla.notify_horizon_seconds'))::float8)) THEN
        PERFORM pg_notify('queue_jobs', 'hotline.sla_timers');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sla_timers_notify AFTER INSERT ON hotline.sla_timers
    REFERENCING NEW TABLE AS new_timers FOR EACH STATEMENT EXECUTE FUNCTION hotline.notify_sla_timers();

-- Fires the due points of up to p_limit running timers, at p_now (default: the clock; tests pass
-- their own). Each firing writes the ticket event, texts the unit, and at the deadline marks the
-- assignment overdue and counts an urging; at the escalation point it requests escalation — all
-- in the caller's transaction. Timers and their tickets are locked with SKIP LOCKED, so several
-- SLA-timer processes never fire one point twice and never wait on a unit's action; a crash
-- rolls the firing back and the point fires again. Returns how many points fired and how long
-- until the next one is due (negative: already due).
--   HL080 p_limit not in 1…10000
CREATE FUNCTION hotline.fire_sla_timers(p_now timestamptz DEFAULT NULL, p_limit integer DEFAULT 200)
RETURNS TABLE (fired integer, next_in interval)
LANGUAGE plpgsql AS $$
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
COMMENT ON FUNCTION hotline.fire_sla_timers IS 'The SLA-timer worker''s one call: fire due timer points (warn, urge, escalate) in one transaction. Error HL080.';

-- Pause (waiting for the citizen, 等待群众补充) stops the clock of the current round's feedback
-- timers; resume restarts them with the time that was left.
--   HL069 not the lead   HL083 not accepted, already paused, or not paused
CREATE FUNCTION hotline.pause_ticket(p_ticket_id bigint, p_unit text, p_actor text, p_reason text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL064', MESSAGE = 'a pause needs the reason (what the citizen is asked for)';
    END IF;
    SELECT * INTO r FROM hotline.unit_assignment(p_ticket_id, p_unit);
    IF (r.a).role <> 'lead' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL069', MESSAGE = format('only the lead unit can pause ticket %s', p_ticket_id);
    END IF;
    IF (r.a).status <> 'accepted' OR (r.t).paused_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL083', MESSAGE = format('ticket %s cannot be paused: the lead''s assignment is %s%s', p_ticket_id, (r.a).status,
                                                                  CASE WHEN (r.t).paused_at IS NOT NULL THEN ' and it is already paused' ELSE '' END);
    END IF;
    UPDATE hotline.sla_timers s
       SET status = 'paused', paused_left = s.due_at - now(), paused_fire_left = s.next_fire_at - now()
      FROM hotline.assignments x
     WHERE x.id = s.assignment_id AND x.ticket_id = p_ticket_id AND x.round = (r.t).dispatch_round
       AND s.kind = 'feedback' AND s.status = 'running';
    UPDATE hotline.tickets SET paused_at = now(), updated_at = now() WHERE id = p_ticket_id;
    PERFORM hotline.append_event(p_ticket_id, 'unit', p_unit, 'paused', jsonb_build_object('by', p_actor, 'reason', btrim(p_reason)));
END
$$;

CREATE FUNCTION hotline.resume_ticket(p_ticket_id bigint, p_unit text, p_actor text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    v_moved integer;
BEGIN
    SELECT * INTO r FROM hotline.unit_assignment(p_ticket_id, p_unit);
    IF (r.a).role <> 'lead' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL069', MESSAGE = format('only the lead unit can resume ticket %s', p_ticket_id);
    END IF;
    IF (r.t).paused_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL083', MESSAGE = format('ticket %s is not paused', p_ticket_id);
    END IF;
    -- A co-handler that returned its part meanwhile has nothing left to be timed.
    UPDATE hotline.sla_timers s
       SET status = CASE WHEN a.status IN ('pending', 'accepted') THEN 'running' ELSE 'cancelled' END,
           stopped_at = CASE WHEN a.status IN ('pending', 'accepted') THEN NULL ELSE now() END,
           due_at = now() + s.paused_left, next_fire_at = now() + s.paused_fire_left,
           -- The whole schedule moves by the pause, so later points keep their place in it.
           started_at = s.started_at + ((now() + s.paused_left) - s.due_at),
           paused_left = NULL, paused_fire_left = NULL
      FROM hotline.assignments a
     WHERE a.id = s.assignment_id AND s.ticket_id = p_ticket_id AND s.status = 'paused';
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    UPDATE hotline.assignments a SET feedback_due_at = s.due_at
      FROM hotline.sla_timers s WHERE s.assignment_id = a.id AND s.kind = 'feedback' AND a.ticket_id = p_ticket_id AND a.round = (r.t).dispatch_round;
    UPDATE hotline.tickets SET paused_at = NULL, updated_at = now() WHERE id = p_ticket_id;
    PERFORM hotline.append_event(p_ticket_id, 'unit', p_unit, 'resumed',
                                 jsonb_build_object('by', p_actor, 'paused_for', now() - (r.t).paused_at, 'timers', v_moved));
    -- A resumed timer may now be due before the worker's next look.
    PERFORM pg_notify('queue_jobs', 'hotline.sla_timers');
END
$$;

-- Escalation ----------------------------------------------------------------------------------

CREATE TABLE hotline.escalation_triggers (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    level       smallint NOT NULL CHECK (level IN (1, 2)),
    description text NOT NULL
);
COMMENT ON TABLE hotline.escalation_triggers IS 'Why a ticket escalates (异常工单自动上报). Level 1 goes to the leaders of the handling level and the supervising department; level 2 also to the discipline commission.';
INSERT INTO hotline.escalation_triggers (code, name, level, description) VALUES
    ('unsatisfied', '群众不满意', 1, 'the callback found the citizen unsatisfied after handling'),
    ('buck_passing', '推诿扯皮', 1, 'returned dispatch.buck_passing_returns times'),
    ('long_unresolved', '久办不结', 1, 'open longer than escalation.open_days'),
    ('severely_overdue', '严重超期', 1, 'a deadline overdue by escalation.overdue_ratio of its allowance'),
    ('repeated_urging', '多次催办', 1, 'urged (SLA urging plus repeat calls) escalation.urges times'),
    ('sensitive', '敏感预警', 1, 'intake flagged threats to life, mass incidents, media exposure or self-harm'),
    ('supervision_without_result', '督办无果', 2, 'supervised escalation.supervisions times without result');

CREATE TABLE hotline.escalations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES hotline.tickets,
    trigger         text NOT NULL REFERENCES hotline.escalation_triggers,
    level           smallint NOT NULL CHECK (level IN (1, 2)),
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'supervising', 'resolved')),
    details         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    notified_units  text[] NOT NULL,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    opened_by       text NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text,
    resolved_at     timestamptz,
    resolved_by     text,
    resolution      text
);
COMMENT ON TABLE hotline.escalations IS 'One escalation of a ticket: trigger, level, who was told (unit codes; SMS in the outbox) and its state. At most one unresolved per ticket, trigger and level.';
CREATE UNIQUE INDEX escalations_one_open ON hotline.escalations (ticket_id, trigger, level) WHERE state <> 'resolved';
CREATE INDEX escalations_ticket_idx ON hotline.escalations (ticket_id);
CREATE INDEX escalations_unresolved_idx ON hotline.escalations (opened_at) WHERE state <> 'resolved';

CREATE TABLE hotline.supervisions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES hotline.tickets,
    unit_id     integer NOT NULL REFERENCES hotline.handling_units,
    opened_by   text NOT NULL,
    note        text NOT NULL,
    due_at      timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'no_result')),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);
COMMENT ON TABLE hotline.supervisions IS 'Supervision (督办) of a ticket by a superior unit with a due date. At the due date it is resolved when the lead has given feedback or the ticket closed, otherwise no_result; no_result ones count toward the level-2 escalation.';
CREATE INDEX supervisions_open_idx ON hotline.supervisions (due_at) WHERE state = 'open';
CREATE INDEX supervisions_ticket_idx ON hotline.supervisions (ticket_id);

-- The dedupe key of an escalation request's job.
CREATE FUNCTION hotline.escalation_key(p_ticket_id bigint, p_trigger text, p_level integer)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT format('ticket:%s:escalate:%s:%s', p_ticket_id, p_trigger, p_level) $$;

-- Whether an escalation of the ticket for the trigger and level is unresolved or already asked
-- for (a job not yet handled): the scan asks only for what is neither.
CREATE FUNCTION hotline.escalation_pending(p_ticket_id bigint, p_trigger text, p_level integer)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM hotline.escalations e
                    WHERE e.ticket_id = p_ticket_id AND e.trigger = p_trigger AND e.level = p_level AND e.state <> 'resolved')
        OR EXISTS (SELECT 1 FROM queue.jobs j
                    WHERE j.queue = 'escalation' AND j.unique_key = hotline.escalation_key(p_ticket_id, p_trigger, p_level))
$$;

-- Asks the escalation worker to escalate (a job, deduplicated while unprocessed). Other workers'
-- events and the periodic scan both come through here.   HL084 unknown trigger or wrong level
CREATE FUNCTION hotline.request_escalation(p_ticket_id bigint, p_trigger text, p_level integer, p_details jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hotline.escalation_triggers e WHERE e.code = p_trigger AND e.level <= p_level) OR p_level NOT IN (1, 2) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL084', MESSAGE = format('unknown escalation trigger %L at level %s', p_trigger, p_level);
    END IF;
    RETURN queue.enqueue('escalation', 'ticket.escalate',
                         jsonb_build_object('ticket_id', p_ticket_id, 'trigger', p_trigger, 'level', p_level,
                                            'details', coalesce(p_details, '{}')),
                         NULL, -5::smallint, 20, hotline.escalation_key(p_ticket_id, p_trigger, p_level));
END
$$;

-- Event triggers the ticket row itself carries: the sensitive flag from intake, returns (from
-- return_ticket) and urges (from the SLA-timer and repeat calls) crossing their thresholds.
CREATE FUNCTION hotline.ticket_escalation_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.is_sensitive AND NOT OLD.is_sensitive THEN
        PERFORM hotline.request_escalation(NEW.id, 'sensitive', 1, jsonb_build_object('source', 'intake'));
    END IF;
    IF NEW.returns > OLD.returns AND NEW.returns >= (hotline.setting('dispatch.buck_passing_returns'))::integer THEN
        PERFORM hotline.request_escalation(NEW.id, 'buck_passing', 1, jsonb_build_object('returns', NEW.returns));
    END IF;
    IF NEW.urges + NEW.repeat_calls > OLD.urges + OLD.repeat_calls
       AND NEW.urges + NEW.repeat_calls >= (hotline.setting('escalation.urges'))::integer THEN
        PERFORM hotline.request_escalation(NEW.id, 'repeated_urging', 1,
                                           jsonb_build_object('urges', NEW.urges, 'repeat_calls', NEW.repeat_calls));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_escalation_events
    AFTER UPDATE OF is_sensitive, returns, urges, repeat_calls ON hotline.tickets
    FOR EACH ROW
    WHEN (NEW.is_sensitive IS DISTINCT FROM OLD.is_sensitive OR NEW.returns <> OLD.returns
          OR NEW.urges <> OLD.urges OR NEW.repeat_calls <> OLD.repeat_calls)
    EXECUTE FUNCTION hotline.ticket_escalation_events();

-- Who hears of an escalation: the government above the current lead (a department's own
-- government; a government's parent), else the ticket's district government, else the city;
-- the supervising department; at level 2 also the discipline commission.
CREATE FUNCTION hotline.escalation_recipients(p_ticket_id bigint, p_level integer)
RETURNS text[]
LANGUAGE sql STABLE AS $$
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
    ) x WHERE c IS NOT NULL
$$;

-- Opens an escalation (the escalation worker's write): records it, texts the recipients, logs
-- 'escalated'. Returns its id, or NULL when one is already unresolved for the ticket, trigger
-- and level (or the ticket was merged or cancelled: nothing left to escalate).
--   HL040 no such ticket   HL084 unknown trigger or wrong level
CREATE FUNCTION hotline.open_escalation(p_ticket_id bigint, p_trigger text, p_level integer, p_details jsonb, p_actor text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t        hotline.tickets;
    v_tr     hotline.escalation_triggers;
    v_units  text[];
    v_id     bigint;
BEGIN
    SELECT * INTO v_tr FROM hotline.escalation_triggers e WHERE e.code = p_trigger;
    IF NOT FOUND OR p_level IS NULL OR p_level NOT IN (1, 2) OR p_level < v_tr.level THEN
        RAISE EXCEPTION USING ERRCODE = 'HL084', MESSAGE = format('unknown escalation trigger %L at level %s', p_trigger, p_level);
    END IF;
    t := hotline.locked_ticket(p_ticket_id);
    IF t.status IN ('merged', 'cancelled') THEN
        RETURN NULL;
    END IF;
    v_units := hotline.escalation_recipients(p_ticket_id, p_level);
    INSERT INTO hotline.escalations (ticket_id, trigger, level, details, notified_units, opened_by)
    VALUES (p_ticket_id, p_trigger, p_level, coalesce(p_details, '{}'), v_units, p_actor)
    ON CONFLICT (ticket_id, trigger, level) WHERE state <> 'resolved' DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM hotline.sms_unit(p_ticket_id, u.id, 'escalation.opened',
                             jsonb_build_object('trigger', v_tr.name, 'level', p_level, 'ticket_no', t.ticket_no))
       FROM hotline.handling_units u WHERE u.code = ANY (v_units);
    PERFORM hotline.append_event(p_ticket_id, 'process', p_actor, 'escalated',
                                 jsonb_build_object('escalation_id', v_id, 'trigger', p_trigger, 'level', p_level,
                                                    'notified', to_jsonb(v_units), 'details', coalesce(p_details, '{}')));
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION hotline.open_escalation IS 'Record one escalation, text its recipients, log it; NULL if already open. Errors HL040, HL084.';

-- The escalation's life after opening.   HL085 no such escalation or not in a state for this
CREATE FUNCTION hotline.acknowledge_escalation(p_id bigint, p_person text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e hotline.escalations;
BEGIN
    SELECT * INTO e FROM hotline.escalations WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL085', MESSAGE = format('no escalation %s', p_id);
    END IF;
    PERFORM hotline.locked_ticket(e.ticket_id);
    UPDATE hotline.escalations SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = p_person
     WHERE id = p_id AND state = 'open' RETURNING * INTO e;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL085', MESSAGE = format('escalation %s is not open', p_id);
    END IF;
    PERFORM hotline.append_event(e.ticket_id, 'person', p_person, 'escalation_acknowledged', jsonb_build_object('escalation_id', p_id));
END
$$;

CREATE FUNCTION hotline.resolve_escalation(p_id bigint, p_person text, p_resolution text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e hotline.escalations;
BEGIN
    IF coalesce(btrim(p_resolution), '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL064', MESSAGE = 'resolving an escalation needs a resolution';
    END IF;
    SELECT * INTO e FROM hotline.escalations WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL085', MESSAGE = format('no escalation %s', p_id);
    END IF;
    PERFORM hotline.locked_ticket(e.ticket_id);
    UPDATE hotline.escalations SET state = 'resolved', resolved_at = now(), resolved_by = p_person, resolution = btrim(p_resolution)
     WHERE id = p_id AND state <> 'resolved' RETURNING * INTO e;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL085', MESSAGE = format('escalation %s is already resolved', p_id);
    END IF;
    PERFORM hotline.append_event(e.ticket_id, 'person', p_person, 'escalation_resolved',
                                 jsonb_build_object('escalation_id', p_id, 'resolution', btrim(p_resolution)));
END
$$;

-- Supervision (督办): a superior unit supervises an open ticket until p_due_at; the lead is
-- texted and the ticket's unresolved escalations become 'supervising'.
--   HL063 ticket closed, cancelled or merged   HL066 unknown unit   HL086 due date not within the coming year, or no note
CREATE FUNCTION hotline.open_supervision(p_ticket_id bigint, p_unit text, p_person text, p_due_at timestamptz, p_note text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t      hotline.tickets;
    v_unit integer;
    v_id   bigint;
BEGIN
    IF p_due_at IS NULL OR p_due_at <= now() OR p_due_at > now() + interval '366 days'
       OR coalesce(btrim(p_note), '') = '' OR length(p_note) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL086', MESSAGE = 'a supervision needs a due date within the coming year and a note of at most 1000 characters';
    END IF;
    t := hotline.locked_ticket(p_ticket_id);
    IF t.status IN ('closed', 'cancelled', 'merged') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL063', MESSAGE = format('ticket %s is %s; nothing to supervise', p_ticket_id, t.status);
    END IF;
    SELECT id INTO v_unit FROM hotline.handling_units WHERE code = p_unit AND active;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL066', MESSAGE = format('unknown or inactive handling unit %L', p_unit);
    END IF;
    INSERT INTO hotline.supervisions (ticket_id, unit_id, opened_by, note, due_at)
    VALUES (p_ticket_id, v_unit, p_person, btrim(p_note), p_due_at) RETURNING id INTO v_id;
    UPDATE hotline.escalations SET state = 'supervising' WHERE ticket_id = p_ticket_id AND state IN ('open', 'acknowledged');
    PERFORM hotline.sms_unit(p_ticket_id, a.unit_id, 'supervision.opened',
                             jsonb_build_object('ticket_no', t.ticket_no, 'supervisor', p_unit,
                                                'due', hotline.local_minute(p_due_at)))
       FROM hotline.assignments a WHERE a.ticket_id = p_ticket_id AND a.round = t.dispatch_round AND a.role = 'lead';
    PERFORM hotline.append_event(p_ticket_id, 'unit', p_unit, 'supervision_opened',
                                 jsonb_build_object('supervision_id', v_id, 'by', p_person, 'due_at', p_due_at, 'note', btrim(p_note)));
    RETURN v_id;
END
$$;

-- Hard tickets (疑难工单): unclear responsibility the district did not settle in time, listed in
-- the month they became hard, for the city joint meeting.
CREATE TABLE hotline.hard_tickets (
    ticket_id   bigint PRIMARY KEY REFERENCES hotline.tickets,
    month       date NOT NULL CHECK (month = date_trunc('month', month)::date),
    listed_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hotline.hard_tickets IS 'Hard tickets for the monthly city joint meeting (市级联席会议): month is the month they were listed; hard_ticket_list shows when each was settled (closed).';
CREATE INDEX hard_tickets_month_idx ON hotline.hard_tickets (month);

CREATE VIEW hotline.hard_ticket_list AS
SELECT h.month, t.ticket_no, t.id AS ticket_id, d.name AS district, c.label AS category, t.status,
       t.received_at, h.listed_at, t.closed_at AS settled_at, t.returns, t.dispatch_round AS rounds,
       (SELECT string_agg(DISTINCT u.name, '、') FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
         WHERE a.ticket_id = t.id AND a.role = 'lead') AS leads_tried,
       left(t.content, 120) AS content
  FROM hotline.hard_tickets h
  JOIN hotline.tickets t ON t.id = h.ticket_id
  LEFT JOIN hotline.jurisdictions d ON d.id = t.district_id
  LEFT JOIN hotline.categories c ON c.id = t.category_id;
COMMENT ON VIEW hotline.hard_ticket_list IS 'The hard-ticket list per month: SELECT * FROM hotline.hard_ticket_list WHERE month = ''2026-11-01''.';

-- The periodic rule scan: closes supervisions that reached their due date, lists hard tickets,
-- and requests the escalations that events missed (or that only time reveals). A trigger found
-- here is requested once per ticket (per timer for severe overdue); the job and the partial
-- unique index keep concurrent scans from doubling anything. Returns what it found per trigger.
--   HL080 p_limit not in 1…100000
CREATE FUNCTION hotline.scan_escalations(p_now timestamptz DEFAULT NULL, p_limit integer DEFAULT 1000)
RETURNS TABLE (finding text, count integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := coalesce(p_now, now());
    r       record;
    v_n     integer;
    v_ratio float8 := (hotline.setting('escalation.overdue_ratio'))::float8;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL080', MESSAGE = format('scan_escalations: limit must be 1…100000, got %s', coalesce(p_limit::text, 'NULL'));
    END IF;

    -- Supervisions at their due date.
    v_n := 0;
    FOR r IN
        SELECT s.id, s.ticket_id, (t.status IN ('feedback_given', 'closed')) AS done
          FROM hotline.supervisions s JOIN hotline.tickets t ON t.id = s.ticket_id
         WHERE s.state = 'open' AND s.due_at <= v_now
         ORDER BY s.due_at LIMIT p_limit
           FOR UPDATE OF s, t SKIP LOCKED
    LOOP
        UPDATE hotline.supervisions SET state = CASE WHEN r.done THEN 'resolved' ELSE 'no_result' END, closed_at = v_now WHERE id = r.id;
        PERFORM hotline.append_event(r.ticket_id, 'process', 'escalation',
                                     CASE WHEN r.done THEN 'supervision_resolved' ELSE 'supervision_no_result' END,
                                     jsonb_build_object('supervision_id', r.id));
        v_n := v_n + 1;
    END LOOP;
    RETURN QUERY SELECT 'supervisions_closed', v_n;

    RETURN QUERY
    WITH found AS (
        SELECT s.ticket_id, count(*) AS n FROM hotline.supervisions s
         WHERE s.state = 'no_result'
         GROUP BY s.ticket_id
        HAVING count(*) >= (hotline.setting('escalation.supervisions'))::integer
    ), todo AS (
        SELECT f.ticket_id, f.n FROM found f JOIN hotline.tickets t ON t.id = f.ticket_id
         WHERE t.status NOT IN ('cancelled', 'merged')
           AND NOT EXISTS (SELECT 1 FROM hotline.escalations e WHERE e.ticket_id = f.ticket_id AND e.trigger = 'supervision_without_result')
           AND NOT hotline.escalation_pending(f.ticket_id, 'supervision_without_result', 2)
         LIMIT p_limit
    )
    SELECT 'supervision_without_result', count(hotline.request_escalation(ticket_id, 'supervision_without_result', 2,
                                                                         jsonb_build_object('supervisions', n)))::integer
      FROM todo;

    RETURN QUERY
    WITH todo AS (
        SELECT t.id FROM hotline.tickets t
         WHERE t.received_at <= v_now - make_interval(days => (hotline.setting('escalation.open_days'))::integer)
           AND t.status NOT IN ('closed', 'cancelled', 'merged')   -- tickets_open_received_idx
           AND NOT EXISTS (SELECT 1 FROM hotline.escalations e WHERE e.ticket_id = t.id AND e.trigger = 'long_unresolved')
           AND NOT hotline.escalation_pending(t.id, 'long_unresolved', 1)
         LIMIT p_limit
    )
    SELECT 'long_unresolved', count(hotline.request_escalation(id, 'long_unresolved', 1,
                                                              jsonb_build_object('open_days', (hotline.setting('escalation.open_days'))::integer)))::integer
      FROM todo;

    RETURN QUERY
    WITH todo AS (
        SELECT DISTINCT ON (s.ticket_id) s.ticket_id, s.id, s.kind, s.due_at FROM hotline.sla_timers s
         WHERE s.status = 'running' AND s.due_at <= v_now
           AND s.started_at + (s.due_at - s.started_at) * (1 + v_ratio) <= v_now
           AND NOT EXISTS (SELECT 1 FROM hotline.escalations e
                            WHERE e.ticket_id = s.ticket_id AND e.trigger = 'severely_overdue' AND e.opened_at >= s.started_at)
           AND NOT hotline.escalation_pending(s.ticket_id, 'severely_overdue', 1)
         ORDER BY s.ticket_id, s.due_at LIMIT p_limit
    )
    SELECT 'severely_overdue', count(hotline.request_escalation(ticket_id, 'severely_overdue', 1,
                                                               jsonb_build_object('timer_id', id, 'timer', kind, 'due_at', due_at)))::integer
      FROM todo;

    RETURN QUERY
    WITH todo AS (
        SELECT t.id, t.returns, t.urges, t.repeat_calls, t.is_sensitive FROM hotline.tickets t
         WHERE (t.is_sensitive OR t.returns > 0 OR t.urges + t.repeat_calls > 0)   -- tickets_escalation_candidates_idx
           AND t.status NOT IN ('closed', 'cancelled', 'merged')
           AND (t.is_sensitive OR t.returns >= (hotline.setting('dispatch.buck_passing_returns'))::integer
                OR t.urges + t.repeat_calls >= (hotline.setting('escalation.urges'))::integer)
    ), requests AS (
        SELECT 'sensitive' AS trigger, id, '{}'::jsonb AS details FROM todo WHERE is_sensitive
        UNION ALL
        SELECT 'buck_passing', id, jsonb_build_object('returns', returns) FROM todo
         WHERE returns >= (hotline.setting('dispatch.buck_passing_returns'))::integer
        UNION ALL
        SELECT 'repeated_urging', id, jsonb_build_object('urges', urges, 'repeat_calls', repeat_calls) FROM todo
         WHERE urges + repeat_calls >= (hotline.setting('escalation.urges'))::integer
    ), missing AS (
        SELECT q.* FROM requests q
         WHERE NOT EXISTS (SELECT 1 FROM hotline.escalations e WHERE e.ticket_id = q.id AND e.trigger = q.trigger)
           AND NOT hotline.escalation_pending(q.id, q.trigger, 1)
         LIMIT p_limit
    )
    SELECT m.trigger, count(hotline.request_escalation(m.id, m.trigger, 1, m.details))::integer
      FROM missing m GROUP BY m.trigger;

    -- Hard tickets: listed once, in the month they became hard.
    WITH listed AS (
        INSERT INTO hotline.hard_tickets (ticket_id, month, listed_at)
        SELECT t.id, date_trunc('month', v_now AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date, v_now
          FROM hotline.tickets t
         WHERE 'unclear_responsibility' = ANY (t.special_ledger)   -- tickets_unclear_open_idx
           AND t.status NOT IN ('closed', 'cancelled', 'merged')
           AND t.received_at <= v_now - make_interval(days => (hotline.setting('hard_ticket.settle_days'))::integer)
           AND NOT EXISTS (SELECT 1 FROM hotline.hard_tickets h WHERE h.ticket_id = t.id)
         LIMIT p_limit
        ON CONFLICT (ticket_id) DO NOTHING
        RETURNING ticket_id
    )
    SELECT count(*) INTO v_n FROM listed;
    RETURN QUERY SELECT 'hard_tickets_listed', v_n;
END
$$;
COMMENT ON FUNCTION hotline.scan_escalations IS 'The escalation worker''s periodic rule scan (supervisions due, missed or time-based triggers, hard tickets). Error HL080.';

-- Unit actions, now with policy deadlines and pausable timers ----------------------------------

CREATE OR REPLACE FUNCTION hotline.record_dispatch(p_ticket_id bigint, p_actor_kind text, p_actor text, p_plan jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t          hotline.tickets;
    u          hotline.urgency_classes;
    v_round    integer;
    v_codes    text[];
    v_item     record;
    v_unit     hotline.handling_units;
    v_assign   bigint;
    v_now      timestamptz := now();
    v_accept   timestamptz;
    v_feedback timestamptz;
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

    v_codes := ARRAY[p_plan->>'lead']
               || coalesce(ARRAY(SELECT jsonb_array_elements_text(p_plan->'co_handlers')), '{}')
               || coalesce(ARRAY(SELECT jsonb_array_elements_text(p_plan->'cc')), '{}');
    IF (SELECT count(DISTINCT c) FROM unnest(v_codes) c) <> cardinality(v_codes) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL071', MESSAGE = format('a unit appears twice in the plan: %s', array_to_string(v_codes, ', '));
    END IF;

    v_round := t.dispatch_round + 1;
    FOR v_item IN
        SELECT c.code, CASE WHEN c.ord = 1 THEN 'lead'
                            WHEN c.code IN (SELECT jsonb_array_elements_text(p_plan->'co_handlers')) THEN 'co_handler'
                            ELSE 'cc' END AS role
          FROM unnest(v_codes) WITH ORDINALITY AS c(code, ord)
    LOOP
        SELECT * INTO v_unit FROM hotline.handling_units WHERE code = v_item.code AND active;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'HL066', MESSAGE = format('unknown or inactive handling unit %L', v_item.code);
        END IF;
        INSERT INTO hotline.assignments (ticket_id, round, unit_id, role, status, dispatched_at, accept_due_at, feedback_due_at)
        VALUES (p_ticket_id, v_round, v_unit.id, v_item.role,
                CASE WHEN v_item.role = 'cc' THEN 'informed' ELSE 'pending' END, v_now,
                CASE WHEN v_item.role = 'cc' THEN NULL ELSE v_accept END,
                CASE WHEN v_item.role = 'cc' THEN NULL ELSE v_feedback END)
        RETURNING id INTO v_assign;
        PERFORM hotline.sms_unit(p_ticket_id, v_unit.id, 'dispatch.' || v_item.role,
                                 jsonb_build_object('unit', v_unit.name, 'ticket_no', t.ticket_no, 'class', u.name)
                                 || CASE WHEN v_item.role = 'cc' THEN '{}'::jsonb
                                         ELSE jsonb_build_object('accept_due', hotline.local_minute(v_accept)) END);
    END LOOP;

    PERFORM hotline.start_sla_timers(p_ticket_id, v_round, u.code, v_now);

    INSERT INTO hotline.linkage_records (ticket_id, service, reason)
    SELECT p_ticket_id, s, coalesce(p_plan->>'why', 'emergency')
      FROM jsonb_array_elements_text(coalesce(p_plan->'linkage', '[]')) s
    ON CONFLICT ON CONSTRAINT linkage_once DO NOTHING;

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

CREATE OR REPLACE FUNCTION hotline.whistle(p_ticket_id bigint, p_unit text, p_actor text, p_units text[], p_reason text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r        record;
    v_code   text;
    v_unit   hotline.handling_units;
    v_id     bigint;
    v_count  integer := 0;
    v_now    timestamptz := now();
    v_accept timestamptz;
BEGIN
    IF coalesce(cardinality(p_units), 0) = 0 OR coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL064', MESSAGE = 'a whistle names the units summoned and the reason';
    END IF;
    SELECT * INTO r FROM hotline.unit_assignment(p_ticket_id, p_unit);
    IF (r.a).role <> 'lead' OR (r.a).status <> 'accepted' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL069', MESSAGE = format('only the lead that accepted ticket %s can whistle', p_ticket_id);
    END IF;
    v_accept := hotline.sla_deadline((r.t).urgency_class, 'accept', v_now);
    FOREACH v_code IN ARRAY p_units LOOP
        SELECT * INTO v_unit FROM hotline.handling_units WHERE code = v_code AND active;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'HL066', MESSAGE = format('unknown or inactive handling unit %L', v_code);
        END IF;
        INSERT INTO hotline.assignments (ticket_id, round, unit_id, role, accept_due_at)
        VALUES (p_ticket_id, (r.t).dispatch_round, v_unit.id, 'summoned', v_accept)
        ON CONFLICT ON CONSTRAINT assignments_one_per_round DO NOTHING
        RETURNING id INTO v_id;
        IF v_id IS NOT NULL THEN
            v_count := v_count + 1;
            PERFORM hotline.sms_unit(p_ticket_id, v_unit.id, 'dispatch.summoned',
                                     jsonb_build_object('unit', v_unit.name, 'ticket_no', (r.t).ticket_no));
        END IF;
    END LOOP;
    PERFORM hotline.start_sla_timers(p_ticket_id, (r.t).dispatch_round, (r.t).urgency_class, v_now);
    PERFORM hotline.append_event(p_ticket_id, 'unit', p_unit, 'whistled',
                                 jsonb_build_object('by', p_actor, 'units', to_jsonb(p_units), 'reason', btrim(p_reason)));
    RETURN v_count;
END
$$;

-- Feedback meets the feedback timer even while paused, and ends the pause.
CREATE OR REPLACE FUNCTION hotline.give_feedback(p_ticket_id bigint, p_unit text, p_actor text, p_result text, p_resolved boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF coalesce(btrim(p_result), '') = '' OR p_resolved IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL064', MESSAGE = 'feedback needs the result and whether it is resolved';
    END IF;
    SELECT * INTO r FROM hotline.unit_assignment(p_ticket_id, p_unit);
    IF (r.a).role <> 'lead' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL069', MESSAGE = format('only the lead unit gives feedback on ticket %s', p_ticket_id);
    END IF;
    IF (r.a).status <> 'accepted' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL070', MESSAGE = format('unit %L cannot give feedback on ticket %s: its assignment is %s', p_unit, p_ticket_id, (r.a).status);
    END IF;
    UPDATE hotline.assignments SET status = 'feedback_given', feedback_at = now(), feedback = btrim(p_result) WHERE id = (r.a).id;
    -- The lead answers for the round: the co-handlers' feedback deadlines are met with it.
    UPDATE hotline.sla_timers s SET status = 'met', stopped_at = now(), paused_left = NULL, paused_fire_left = NULL
      FROM hotline.assignments x
     WHERE x.id = s.assignment_id AND x.ticket_id = p_ticket_id AND x.round = (r.t).dispatch_round
       AND s.kind = 'feedback' AND s.status IN ('running', 'paused');
    UPDATE hotline.tickets SET status = 'feedback_given', paused_at = NULL, updated_at = now() WHERE id = p_ticket_id;
    PERFORM hotline.append_event(p_ticket_id, 'unit', p_unit, 'feedback_given',
                                 jsonb_build_object('by', p_actor, 'result', btrim(p_result), 'resolved', p_resolved));
END
$$;

CREATE OR REPLACE FUNCTION hotline.request_close(p_ticket_id bigint, p_unit text, p_actor text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM hotline.unit_assignment(p_ticket_id, p_unit);
    IF (r.a).role <> 'lead' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL069', MESSAGE = format('only the lead unit can ask to close ticket %s', p_ticket_id);
    END IF;
    IF (r.a).status <> 'feedback_given' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL070', MESSAGE = format('ticket %s has no feedback from %L yet', p_ticket_id, p_unit);
    END IF;
    UPDATE hotline.assignments SET status = 'closed' WHERE ticket_id = p_ticket_id AND round = (r.t).dispatch_round AND status IN ('feedback_given', 'accepted', 'pending');
    UPDATE hotline.sla_timers SET status = 'cancelled', stopped_at = now(), paused_left = NULL, paused_fire_left = NULL
     WHERE ticket_id = p_ticket_id AND status IN ('running', 'paused');
    UPDATE hotline.tickets SET status = 'closed', closed_at = now(), paused_at = NULL, updated_at = now() WHERE id = p_ticket_id;
    PERFORM hotline.append_event(p_ticket_id, 'unit', p_unit, 'closed', jsonb_build_object('by', p_actor));
END
$$;

-- What DBAs and supervisors look at.
CREATE VIEW hotline.overdue_timers AS
SELECT s.id AS timer_id, t.ticket_no, s.ticket_id, u.code AS unit, u.name AS unit_name, a.role, s.kind, s.due_at,
       now() - s.due_at AS overdue_by, s.next_fire_at, s.point_actions[s.next_point] AS next_action, t.urgency_class
  FROM hotline.sla_timers s
  JOIN hotline.assignments a ON a.id = s.assignment_id
  JOIN hotline.handling_units u ON u.id = a.unit_id
  JOIN hotline.tickets t ON t.id = s.ticket_id
 WHERE s.status = 'running' AND s.due_at < now();
COMMENT ON VIEW hotline.overdue_timers IS 'Running deadlines already passed, oldest first by due_at.';

CREATE VIEW hotline.open_escalations AS
SELECT e.id, t.ticket_no, e.ticket_id, e.trigger, g.name AS trigger_name, e.level, e.state, e.notified_units,
       e.opened_at, e.acknowledged_at, t.status AS ticket_status, left(t.content, 80) AS content
  FROM hotline.escalations e
  JOIN hotline.escalation_triggers g ON g.code = e.trigger
  JOIN hotline.tickets t ON t.id = e.ticket_id
 WHERE e.state <> 'resolved';
COMMENT ON VIEW hotline.open_escalations IS 'Escalations not yet resolved, with the trigger''s name and the ticket.';
