-- The SLA breach rate, for ops' alerts and for DBAs: of the deadlines that came to an end in a
-- recent window, how many were met in time, met late, or are still open past their time. The
-- sla-timer publishes it as a gauge (hotline_sla_deadlines) once a minute; the alert rule divides.
--   HL087 window not within 1 minute … 31 days

-- Met deadlines by when they were met. The partial index costs one entry per met deadline (an
-- acceptance or a feedback, off the dispatch path) and keeps the count independent of history.
CREATE INDEX sla_timers_met_idx ON hotline.sla_timers (stopped_at) WHERE status = 'met';

-- A deadline counts once in the window it ended in: met (in time or late) when stopped_at falls
-- in it; overdue when it is still running and its due_at falls in it (met later, it counts again
-- as late in that later window — the matter was late both times it was looked at). Cancelled
-- deadlines (returns, cancellations) and paused clocks count nowhere.
CREATE FUNCTION hotline.sla_outcomes(p_window interval DEFAULT interval '1 hour', p_now timestamptz DEFAULT NULL)
RETURNS TABLE (timer text, in_time bigint, late bigint, overdue bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_now timestamptz := coalesce(p_now, now());
BEGIN
    IF p_window IS NULL OR p_window < interval '1 minute' OR p_window > interval '31 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL087',
            MESSAGE = format('sla_outcomes: window must be 1 minute … 31 days, got %s', coalesce(p_window::text, 'NULL'));
    END IF;
    RETURN QUERY
    WITH kinds(kind) AS (VALUES ('accept'), ('feedback')),
    met AS (
        SELECT s.kind, count(*) FILTER (WHERE s.stopped_at <= s.due_at) AS in_time,
               count(*) FILTER (WHERE s.stopped_at > s.due_at) AS late
          FROM hotline.sla_timers s
         WHERE s.status = 'met' AND s.stopped_at > v_now - p_window AND s.stopped_at <= v_now
         GROUP BY s.kind
    ),
    open AS (
        SELECT s.kind, count(*) AS overdue
          FROM hotline.sla_timers s
         WHERE s.status = 'running' AND s.due_at > v_now - p_window AND s.due_at <= v_now
         GROUP BY s.kind
    )
    SELECT k.kind, coalesce(m.in_time, 0), coalesce(m.late, 0), coalesce(o.overdue, 0)
      FROM kinds k LEFT JOIN met m ON m.kind = k.kind LEFT JOIN open o ON o.kind = k.kind
     ORDER BY k.kind;
END
$$;
COMMENT ON FUNCTION hotline.sla_outcomes IS 'Deadlines (accept, feedback) that ended in the window before p_now (default: the last hour): met in time, met late, or still running past due_at. Breach rate = (late + overdue) / all three. Error HL087.';

-- Runs as its owner with the fixed search_path, closed to PUBLIC (sql/0016).
SELECT hotline.secure_functions();
GRANT EXECUTE ON FUNCTION hotline.sla_outcomes TO hotline_sla, hotline_supervisor, hotline_analyst;
