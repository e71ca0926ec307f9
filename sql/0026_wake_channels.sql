-- Wake-ups on one channel per queue.
--
-- Every wake-up used to go to one channel, queue_jobs, with the queue (or the watched table) as
-- its payload, and each process threw away those that were not for it. PostgreSQL delivers a
-- notification to every session listening on its channel, so each worker process got every
-- wake-up of the fleet: at 200 tickets/s about 600 a second (the submits', intake's, dispatch's
-- SMS and SLA timer wake-ups), most of them for someone else. Measured on the benchmark
-- database with intake-extraction and auto-dispatch idle, 400 notifications a second for
-- another queue cost the two processes 11 % of a core and their listening backends 4 %: each
-- one wakes a process from sleep (a read on the I/O thread, a hop to the task pool) only to be
-- dropped. A fleet of six worker kinds pays it six times over.
--
-- Now a wake-up for X goes to the channel queue.wake_channel(X), 'queue_jobs.' || X (or, for a
-- name too long for a channel, 'queue_jobs.' || md5(X)), with X still the payload, and a
-- process listens only on its own queues' and tables' channels. Only queue.wake and
-- queue.send_wakeups notify; the functions that called pg_notify themselves now call
-- queue.wake (so inside a worker's deferring transaction theirs are sent after the commit too). PostgreSQL 15 still signals
-- every listening backend of the database (it filters by channel when the backend reads the
-- notification queue), but nothing reaches a process that does not listen.

CREATE FUNCTION queue.wake_channel(p_target text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 'queue_jobs.' || CASE WHEN octet_length(p_target) <= 52 THEN p_target ELSE md5(p_target) END
$$;
COMMENT ON FUNCTION queue.wake_channel IS 'The NOTIFY channel that wakes the workers of a queue (or of a loop watching a table): queue_jobs.<name>, or queue_jobs.<md5 of the name> when the name is longer than 52 bytes. The payload is the name itself.';
GRANT EXECUTE ON FUNCTION queue.wake_channel(text) TO PUBLIC;

CREATE OR REPLACE FUNCTION queue.wake(p_payload text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
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
        PERFORM pg_notify(queue.wake_channel(p_payload), p_payload);
    END IF;
END
$function$;

CREATE OR REPLACE FUNCTION queue.send_wakeups(p_payloads text[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p text;
    v_n integer := 0;
BEGIN
    -- Called on its own after the job's commit: nothing here needs to survive a crash.
    PERFORM set_config('synchronous_commit', 'off', true);
    FOREACH p IN ARRAY coalesce(p_payloads, '{}') LOOP
        IF length(p) BETWEEN 1 AND 200 THEN
            PERFORM pg_notify(queue.wake_channel(p), p);
            v_n := v_n + 1;
        END IF;
    END LOOP;
    RETURN v_n;
END
$function$;

CREATE OR REPLACE FUNCTION queue.release(p_owner text, p_ids bigint[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_count integer := 0;
    q text;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR q IN
        WITH released AS (
            UPDATE queue.jobs j
               SET status = 'available', attempt = greatest(j.attempt - 1, 0),
                   lease_owner = NULL, lease_expires_at = NULL
             WHERE j.id = ANY (p_ids) AND j.status = 'running' AND j.lease_owner = p_owner
            RETURNING j.queue
        )
        SELECT r.queue FROM released r
    LOOP
        v_count := v_count + 1;
        PERFORM queue.wake(q);
    END LOOP;
    RETURN v_count;
END
$function$;

CREATE OR REPLACE FUNCTION queue.reap_and_notify(p_limit integer DEFAULT 1000)
 RETURNS TABLE(queue text, reaped bigint, dead bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    r record;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR r IN SELECT * FROM queue.reap_expired_leases(p_limit) LOOP
        IF r.reaped > r.dead THEN
            PERFORM queue.wake(r.queue);
        END IF;
        queue := r.queue; reaped := r.reaped; dead := r.dead;
        RETURN NEXT;
    END LOOP;
END
$function$;

CREATE OR REPLACE FUNCTION queue.retry_dead(p_queue text, p_ids bigint[] DEFAULT NULL::bigint[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    v_count integer;
BEGIN
    UPDATE queue.jobs j SET status = 'available', attempt = 0, run_at = now()
     WHERE j.queue = p_queue AND j.status = 'dead' AND (p_ids IS NULL OR j.id = ANY (p_ids));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        PERFORM queue.wake(p_queue);
    END IF;
    RETURN v_count;
END
$function$;

CREATE OR REPLACE FUNCTION queue.resume(p_queue text, p_by text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
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
    PERFORM queue.wake(p_queue);
    RETURN coalesce(v_changed, false);
END
$function$;

CREATE OR REPLACE FUNCTION hotline.resend_sms(p_id bigint, p_person text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    UPDATE hotline.sms_outbox SET status = 'pending', next_attempt_at = now(), attempts = 0,
           last_error = format('resent by %s after: %s', p_person, coalesce(last_error, status))
     WHERE id = p_id AND status IN ('unknown', 'failed');
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL105', MESSAGE = format('message %s is not unknown or failed', p_id);
    END IF;
    PERFORM queue.wake('hotline.sms_outbox');
END
$function$;

CREATE OR REPLACE FUNCTION hotline.resume_ticket(p_ticket_id bigint, p_unit text, p_actor text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'hotline', 'queue', 'pg_catalog', 'pg_temp'
AS $function$
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
    PERFORM queue.wake('hotline.sla_timers');
END
$function$;
