-- Less work in the two statements every job of intake-extraction and auto-dispatch starts with.
--
-- At 200 tickets/s each claim takes about one job, so whatever a claim does besides taking it is
-- paid per job, twice per ticket. Measured with pgbench on one connection (whole-machine CPU per
-- job, claim batch 1, 4,000 jobs, three rounds; README "Intake and dispatch"):
--   * the claim statement with its look-ahead (`queue.next_run_at` beside `queue.claim`) cost
--     440–507 µs; the claim alone 377–392: the look-ahead's own statement is ~80 µs;
--   * inside the claim, the promotion of due scheduled jobs is an UPDATE with a locking
--     sub-select that PostgreSQL starts up (every node of its plan) on every call, though at
--     that rate nothing is due: asking first and updating only when something is due cost
--     382–475 instead of 440–507.
-- `queue.claim_next` does both in one function: one probe reads the pause and the earliest
-- scheduled job (what the look-ahead reported), promotion runs only when that job is due, and the
-- look-ahead comes back with the claimed rows (or alone, in a row without a job, when nothing was
-- claimed). `queue.claim` keeps its signature and result and is now that function's rows.
--
-- `hotline.read_for_dispatch` (auto-dispatch's read of a group) cost ~410 µs for one ticket where
-- a plain select of the row cost ~120: its statement carried four sub-plans for the units that
-- returned the ticket before, and PostgreSQL starts every node of a plan on every execution,
-- even the sub-plans that a ticket without returns never runs. Those now live in a function of
-- their own, called only for a ticket that has returns.

CREATE FUNCTION queue.claim_next(p_queue text, p_owner text, p_limit integer, p_lease_seconds double precision)
RETURNS TABLE (id bigint, kind text, payload text, attempt integer, max_attempts integer,
               priority smallint, created_at timestamptz, run_at timestamptz, lease_expires_at timestamptz,
               next_scheduled_in double precision)
LANGUAGE plpgsql AS $$
DECLARE
    v_paused boolean;
    v_next   timestamptz;
BEGIN
    SELECT EXISTS (SELECT 1 FROM queue.queues q WHERE q.name = p_queue AND q.paused),
           (SELECT s.run_at FROM queue.jobs s WHERE s.queue = p_queue AND s.status = 'scheduled' ORDER BY s.run_at LIMIT 1)
      INTO v_paused, v_next;
    -- A paused queue has nothing to wake up for (as queue.next_run_at): no look-ahead.
    IF v_paused THEN
        id := NULL;
        next_scheduled_in := NULL;
        RETURN NEXT;
        RETURN;
    END IF;
    -- Read just before the claim, as the look-ahead always was.
    next_scheduled_in := extract(epoch FROM v_next - clock_timestamp());
    PERFORM set_config('synchronous_commit', 'off', true);
    IF v_next <= now() THEN
        UPDATE queue.jobs j SET status = 'available'
         WHERE j.id IN (SELECT s.id FROM queue.jobs s
                         WHERE s.queue = p_queue AND s.status = 'scheduled' AND s.run_at <= now()
                         ORDER BY s.run_at LIMIT 1000
                         FOR UPDATE SKIP LOCKED);
    END IF;
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
              j.created_at, j.run_at, j.lease_expires_at, next_scheduled_in;
    IF NOT FOUND THEN
        id := NULL;
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION queue.claim_next IS 'A worker''s claim: up to p_limit runnable jobs of p_queue for p_owner (FOR UPDATE SKIP LOCKED), leased for p_lease_seconds, each row with the seconds until the earliest scheduled job was due just before the claim (NULL: none, or the queue is paused); when nothing was claimed, one row with id NULL carries that alone. A paused queue yields no job.';

CREATE OR REPLACE FUNCTION queue.claim(p_queue text, p_owner text, p_limit integer, p_lease_seconds double precision)
RETURNS TABLE (id bigint, kind text, payload text, attempt integer, max_attempts integer,
               priority smallint, created_at timestamptz, run_at timestamptz, lease_expires_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    SELECT c.id, c.kind, c.payload, c.attempt, c.max_attempts, c.priority, c.created_at, c.run_at, c.lease_expires_at
      FROM queue.claim_next(p_queue, p_owner, p_limit, p_lease_seconds) c
     WHERE c.id IS NOT NULL;
END
$$;
COMMENT ON FUNCTION queue.claim IS 'Claim up to p_limit runnable jobs of p_queue for p_owner (FOR UPDATE SKIP LOCKED), leased for p_lease_seconds. A paused queue (queue.queues) yields nothing. The jobs of queue.claim_next, without its look-ahead.';

-- The lead units that returned a ticket (in the order they returned it), and the unit the latest
-- return suggested: what read_for_dispatch adds for a ticket with returns.
CREATE FUNCTION hotline.returns_of(p_ticket_id bigint, OUT returned_by text[], OUT suggested_unit text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    returned_by := ARRAY(SELECT u.code FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
                          WHERE a.ticket_id = p_ticket_id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at);
    suggested_unit := (SELECT s.code FROM hotline.assignments a LEFT JOIN hotline.handling_units s ON s.id = a.suggested_unit_id
                        WHERE a.ticket_id = p_ticket_id AND a.status = 'returned' AND a.role = 'lead'
                        ORDER BY a.returned_at DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION hotline.returns_of IS 'auto-dispatch: the lead units that returned a ticket, in order, and the unit its latest return suggested.';

CREATE OR REPLACE FUNCTION hotline.read_for_dispatch(p_ticket_ids bigint[])
RETURNS TABLE (ticket_id bigint, status text, channel text, content text, category text, category_confidence float8,
               urgency_class text, district_id integer, street_id integer, is_enterprise boolean, returns integer,
               awaiting_dispatcher boolean, returned_by text[], suggested_unit text, version text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT t.id, t.status, t.channel, t.content, c.label, coalesce((t.extraction->>'category_confidence')::float8, 0),
           coalesce(t.urgency_class, 'normal'), t.district_id, t.street_id, t.is_enterprise, t.returns,
           EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id AND q.status = 'waiting'),
           -- Called only for a ticket with returns (twice then: rare enough to keep it plain).
           CASE WHEN t.returns > 0 THEN (hotline.returns_of(t.id)).returned_by ELSE '{}' END,
           CASE WHEN t.returns > 0 THEN (hotline.returns_of(t.id)).suggested_unit END,
           t.xmin::text
      FROM hotline.tickets t LEFT JOIN hotline.categories c ON c.id = t.category_id
     WHERE t.id = ANY (p_ticket_ids)
     ORDER BY t.id;
END
$$;

SELECT hotline.secure_functions();
GRANT EXECUTE ON FUNCTION queue.claim_next(text, text, integer, double precision) TO hotline_worker;
GRANT EXECUTE ON FUNCTION hotline.returns_of(bigint) TO hotline_dispatch;
-- CREATE OR REPLACE dropped the setting 0024 gave it (after secure_functions, as there).
ALTER FUNCTION hotline.read_for_dispatch(bigint[]) SET plan_cache_mode = force_generic_plan;
