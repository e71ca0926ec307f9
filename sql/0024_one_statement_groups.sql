-- intake-extraction and auto-dispatch: a group's write and its jobs' completion in one statement.
--
-- A group used to be BEGIN, a read (with the locks), the write, the completion, COMMIT and the
-- wake-ups: six round trips per group (seven for intake, which also locks the callers), and at
-- 200 tickets/s groups are one ticket. Each round trip costs the worker a hop between its I/O
-- thread and the task pool and the backend a statement's start-up; together they were most of
-- the CPU both spend per ticket, and with two cores busy that CPU is the latency.
--
-- Now a group reads without a lock (its own statement, no transaction held open while the
-- worker extracts or plans), then one statement does the rest in one transaction: lock, check
-- that what was read still holds, write, complete the jobs, hand back the wake-ups to send
-- after the commit. intake needs no check of its own (record_extraction skips a ticket no longer
-- 'received', under the lock). auto-dispatch compares the ticket row's version (xmin: any
-- update of the row changes it) and finds the ticket not waiting for a dispatcher; a ticket that
-- changed is 'stale', its job is not completed, and the worker reads and plans it again.

-- Completes jobs the caller must still hold, all or none: a lost lease raises QL001 and rolls the
-- whole statement back (so two lease holders never both commit the work). Then the wake-ups the
-- transaction deferred (queue.defer_wakeups), for the worker to send after the commit.
CREATE FUNCTION queue.finish_group(p_owner text, p_ids bigint[])
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_want integer;
    v_done integer;
BEGIN
    SELECT count(DISTINCT i) INTO v_want FROM unnest(coalesce(p_ids, '{}')) i;
    SELECT count(*) INTO v_done FROM queue.complete(p_owner, p_ids);
    IF v_done < v_want THEN
        RAISE EXCEPTION USING ERRCODE = 'QL001',
            MESSAGE = format('lease lost: %s of %s jobs are no longer held by %s; nothing was committed', v_want - v_done, v_want, p_owner);
    END IF;
    RETURN queue.deferred_wakeups();
END
$$;
COMMENT ON FUNCTION queue.finish_group IS 'Last step of a worker''s one-statement group: complete every job (QL001 and a rollback if a lease was lost), return the deferred wake-ups to send after the commit.';

-- auto-dispatch's read of a group: what the planner needs (as lock_for_dispatch read it) and the
-- row version the write checks. No lock: the write takes it.
CREATE FUNCTION hotline.read_for_dispatch(p_ticket_ids bigint[])
RETURNS TABLE (ticket_id bigint, status text, channel text, content text, category text, category_confidence float8,
               urgency_class text, district_id integer, street_id integer, is_enterprise boolean, returns integer,
               awaiting_dispatcher boolean, returned_by text[], suggested_unit text, version text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT t.id, t.status, t.channel, t.content, c.label, coalesce((t.extraction->>'category_confidence')::float8, 0),
           coalesce(t.urgency_class, 'normal'), t.district_id, t.street_id, t.is_enterprise, t.returns,
           EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id AND q.status = 'waiting'),
           -- Units whose lead part was returned in any round (excluded from the next), and the
           -- unit the latest return suggested; only for a ticket that has returns.
           CASE WHEN t.returns > 0 THEN
               ARRAY(SELECT u.code FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
                      WHERE a.ticket_id = t.id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at)
           ELSE '{}' END,
           CASE WHEN t.returns > 0 THEN
               (SELECT s.code FROM hotline.assignments a LEFT JOIN hotline.handling_units s ON s.id = a.suggested_unit_id
                 WHERE a.ticket_id = t.id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at DESC LIMIT 1)
           END,
           t.xmin::text
      FROM hotline.tickets t LEFT JOIN hotline.categories c ON c.id = t.category_id
     WHERE t.id = ANY (p_ticket_ids)
     ORDER BY t.id;
END
$$;
COMMENT ON FUNCTION hotline.read_for_dispatch IS 'auto-dispatch: read a group of tickets for planning (no lock), with the units that returned each, the latest suggested unit and the row version hotline.record_dispatches checks.';

-- auto-dispatch's write of a group, one decision per job in the group's order:
--   {"job_id": 1, "action": "skip"}                                   nothing to do (outcome 'skipped')
--   {"job_id": 1, "ticket_id": 7, "version": "…", "action": "dispatch", "plan": {…}}         → 'dispatched'
--   {"job_id": 1, "ticket_id": 7, "version": "…", "action": "dispatcher", "reasons": […], "candidates": […]} → 'queued'
-- A ticket whose row changed since the read, or that waits for a dispatcher now, is 'stale': its
-- job stays running for the worker to read and plan again. Every other job is completed.
--   HL071 a decision that is not one of these   QL001 a lease lost (nothing committed)
--   and record_dispatch's / queue_for_dispatcher's own errors.
CREATE FUNCTION hotline.record_dispatches(p_owner text, p_decisions jsonb)
RETURNS TABLE (outcomes text[], wakeups text[])
LANGUAGE plpgsql AS $$
DECLARE
    d       jsonb;
    v_job   bigint;
    v_id    bigint;
    v_fresh boolean;
    v_out   text[] := '{}';
    v_done  bigint[] := '{}';
BEGIN
    IF jsonb_typeof(p_decisions) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL071', MESSAGE = 'record_dispatches takes a JSON array of decisions';
    END IF;
    PERFORM queue.defer_wakeups();
    FOR d IN SELECT x FROM jsonb_array_elements(p_decisions) x LOOP
        IF jsonb_typeof(d) IS DISTINCT FROM 'object' OR jsonb_typeof(d->'job_id') IS DISTINCT FROM 'number'
           OR coalesce(d->>'action', '') NOT IN ('skip', 'dispatch', 'dispatcher')
           OR (d->>'action' <> 'skip' AND (jsonb_typeof(d->'ticket_id') IS DISTINCT FROM 'number'
                                           OR jsonb_typeof(d->'version') IS DISTINCT FROM 'string')) THEN
            RAISE EXCEPTION USING ERRCODE = 'HL071',
                MESSAGE = 'a dispatch decision is {"job_id", "action": "skip"} or {"job_id", "ticket_id", "version", "action": "dispatch" | "dispatcher", …}',
                DETAIL = left(d::text, 300);
        END IF;
    END LOOP;
    -- Every ticket the group acts on, locked in id order (as every function locks them).
    PERFORM hotline.lock_tickets(ARRAY(SELECT (x->>'ticket_id')::bigint FROM jsonb_array_elements(p_decisions) x
                                        WHERE x->>'action' <> 'skip'));
    FOR d IN SELECT x FROM jsonb_array_elements(p_decisions) WITH ORDINALITY AS e(x, n) ORDER BY n LOOP
        v_job := (d->>'job_id')::bigint;
        IF d->>'action' = 'skip' THEN
            v_out := v_out || 'skipped'::text;
            v_done := v_done || v_job;
            CONTINUE;
        END IF;
        v_id := (d->>'ticket_id')::bigint;
        SELECT t.xmin::text = d->>'version'
               AND NOT EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id AND q.status = 'waiting')
          INTO v_fresh FROM hotline.tickets t WHERE t.id = v_id;
        IF v_fresh IS NOT TRUE THEN
            v_out := v_out || 'stale'::text;
            CONTINUE;
        END IF;
        IF d->>'action' = 'dispatch' THEN
            PERFORM hotline.record_dispatch(v_id, 'process', 'auto-dispatch', d->'plan');
            v_out := v_out || 'dispatched'::text;
        ELSE
            PERFORM hotline.queue_for_dispatcher(v_id, ARRAY(SELECT jsonb_array_elements_text(coalesce(d->'reasons', '[]'))),
                                                 d->'candidates');
            v_out := v_out || 'queued'::text;
        END IF;
        v_done := v_done || v_job;
    END LOOP;
    outcomes := v_out;
    wakeups := queue.finish_group(p_owner, v_done);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION hotline.record_dispatches IS 'auto-dispatch''s one write per group: lock, check each ticket''s version, record the rounds and dispatcher-queue entries, complete the jobs, return the wake-ups. Errors HL071, QL001 and those of record_dispatch / queue_for_dispatcher.';

-- intake-extraction's write of a group: lock the callers and the tickets, record every
-- extraction (record_extraction's outcome each, in the records' order), complete all the group's
-- jobs (p_jobs: the tickets it skipped at its read too), return the wake-ups.
--   HL046 records that are not a JSON array   QL001 a lease lost   and record_extraction's errors.
CREATE FUNCTION hotline.record_extractions(p_owner text, p_jobs bigint[], p_records jsonb)
RETURNS TABLE (outcomes text[], wakeups text[])
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_typeof(p_records) IS DISTINCT FROM 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_records) x WHERE jsonb_typeof(x->'ticket_id') IS DISTINCT FROM 'number') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL046', MESSAGE = 'record_extractions takes a JSON array of records, each with a ticket_id';
    END IF;
    PERFORM queue.defer_wakeups();
    outcomes := '{}';
    IF jsonb_array_length(p_records) > 0 THEN
        PERFORM hotline.lock_callers(ARRAY(SELECT (x->>'ticket_id')::bigint FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e(x, n) ORDER BY n),
                                     ARRAY(SELECT coalesce(x->>'phone', '') FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e(x, n) ORDER BY n));
        outcomes := ARRAY(
            SELECT r.outcome FROM jsonb_array_elements(p_records) WITH ORDINALITY AS i(x, n),
                   LATERAL hotline.record_extraction(
                       (x->>'ticket_id')::bigint, (x->>'district_id')::int, (x->>'street_id')::int, (x->>'community_id')::int,
                       x->>'category', x->>'urgency', (x->>'enterprise')::boolean, (x->>'sensitive')::boolean,
                       x->>'phone', x->>'id_number', x->>'address', x->'extraction') r
             ORDER BY i.n);
    END IF;
    wakeups := queue.finish_group(p_owner, p_jobs);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION hotline.record_extractions IS 'intake-extraction''s one write per group: lock callers and tickets, record each extraction, complete the jobs, return the wake-ups. Errors HL046, QL001 and those of record_extraction.';

-- The group read and the locks now come from these; lock_for_dispatch has no caller left.
DROP FUNCTION hotline.lock_for_dispatch(bigint[]);

SELECT hotline.secure_functions();
GRANT EXECUTE ON FUNCTION queue.finish_group(text, bigint[]) TO hotline_worker;
GRANT EXECUTE ON FUNCTION hotline.read_for_dispatch(bigint[]), hotline.record_dispatches(text, jsonb) TO hotline_dispatch;
GRANT EXECUTE ON FUNCTION hotline.record_extractions(text, bigint[], jsonb) TO hotline_intake;
-- After secure_functions (which sets search_path), as in 0023. Not on record_extractions: the
-- setting would reach record_extraction's own statements, whose plans 0017 tuned as they are.
ALTER FUNCTION hotline.read_for_dispatch(bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION hotline.record_dispatches(text, jsonb) SET plan_cache_mode = force_generic_plan;
