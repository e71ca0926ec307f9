-- Plan the hot worker statements once per connection.
--
-- PL/pgSQL caches a statement's plan, but PostgreSQL's plan cache re-plans a statement with
-- parameters for every call while a custom plan looks cheaper than the generic one. For a
-- group of one or two tickets that is always so (the generic plan assumes ten array elements),
-- and planning cost more than executing: pg_stat_statements with track_planning, at 200
-- tickets/s, put 3.8 s of the 200/s phase's 43 s in planning, most of it in four statements
-- (auto-dispatch's read, record_dispatch's SMS insert, lock_tickets, lock_callers' advisory
-- locks). On one backend, record_dispatch went from 1.17 to 0.89 ms per ticket with generic
-- plans. A function's SET applies to everything it calls, triggers included; a later CREATE OR
-- REPLACE of one of these functions drops it, so repeat the ALTER there.
--
-- The generic plans were read with EXPLAIN: index scans on the ticket ids, as before. Only
-- auto-dispatch's read needed a change, below.

-- auto-dispatch's read (0022): the earlier returns are looked up only for a ticket that has
-- any (tickets.returns counts them), so a first dispatch costs no join at all.
CREATE OR REPLACE FUNCTION hotline.lock_for_dispatch(p_ticket_ids bigint[])
RETURNS TABLE (ticket_id bigint, status text, channel text, content text, category text, category_confidence float8,
               urgency_class text, district_id integer, street_id integer, is_enterprise boolean, returns integer,
               awaiting_dispatcher boolean, returned_by text[], suggested_unit text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM hotline.lock_tickets(p_ticket_ids);
    RETURN QUERY
    SELECT t.id, t.status, t.channel, t.content, c.label, coalesce((t.extraction->>'category_confidence')::float8, 0),
           coalesce(t.urgency_class, 'normal'), t.district_id, t.street_id, t.is_enterprise, t.returns,
           EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id AND q.status = 'waiting'),
           -- Units whose lead part was returned in any round (excluded from the next), and the
           -- unit the latest return suggested.
           CASE WHEN t.returns > 0 THEN
               ARRAY(SELECT u.code FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
                      WHERE a.ticket_id = t.id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at)
           ELSE '{}' END,
           CASE WHEN t.returns > 0 THEN
               (SELECT s.code FROM hotline.assignments a LEFT JOIN hotline.handling_units s ON s.id = a.suggested_unit_id
                 WHERE a.ticket_id = t.id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at DESC LIMIT 1)
           END
      FROM hotline.tickets t LEFT JOIN hotline.categories c ON c.id = t.category_id
     WHERE t.id = ANY (p_ticket_ids)
     ORDER BY t.id;
END
$$;

SELECT hotline.secure_functions();

-- After secure_functions (which sets search_path): one more setting on the hot paths.
ALTER FUNCTION hotline.lock_for_dispatch(bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION hotline.record_dispatch(bigint, text, text, jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION hotline.lock_tickets(bigint[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION hotline.lock_callers(bigint[], text[]) SET plan_cache_mode = force_generic_plan;
