-- Two statements less of PostgreSQL's own work per dispatch, same rows and errors.
--
-- Profiled at 200 tickets/s (perf, pg_stat_statements with track = all): start_sla_timers was
-- the costliest statement under record_dispatch after the SMS insert. For each policy of the
-- class it called sla_deadline (a PL/pgSQL call that reads the policy row it already had) and
-- ran two subqueries over the same points. A calendar-time deadline is now computed in place
-- (working-day ones still go through add_working_days) and the points are read once.
--
-- tickets_ended ran mark_ticket_end on every status change; it only has work when the old or
-- new status is final (or an ended_at on an open ticket needs clearing), so its WHEN says that and the
-- trigger no longer fires on received → extracted → dispatched.

CREATE OR REPLACE FUNCTION hotline.start_sla_timers(p_ticket_id bigint, p_round integer, p_class text, p_start timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_started integer;
BEGIN
    WITH policy AS MATERIALIZED (
        SELECT p.timer_kind, p.roles,
               CASE WHEN p.day_kind = 'working'
                    THEN hotline.add_working_days(p_start, extract(day FROM p.allowance)::integer)
                    ELSE p_start + p.allowance END AS due,
               x.ratios, x.actions
          FROM hotline.sla_policies p
         CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(pt.at_ratio ORDER BY pt.at_ratio), '{}') AS ratios,
                      coalesce(array_agg(pt.action ORDER BY pt.at_ratio), '{}') AS actions
                 FROM hotline.sla_policy_points pt
                WHERE pt.urgency_class = p.urgency_class AND pt.timer_kind = p.timer_kind) x
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

DROP TRIGGER tickets_ended ON hotline.tickets;
CREATE TRIGGER tickets_ended BEFORE UPDATE OF status ON hotline.tickets
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status
                       AND (NEW.status IN ('closed', 'cancelled', 'merged')
                            OR OLD.status IN ('closed', 'cancelled', 'merged')
                            OR OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL))
    EXECUTE FUNCTION hotline.mark_ticket_end();
