-- auto-dispatch's read of a group in one round trip instead of three: lock the tickets (in id
-- order, as hotline.lock_tickets), then read what the planner needs, each ticket's earlier
-- returns included. A PL/pgSQL function, so the read takes its snapshot after the locks are held
-- (one SQL statement with the lock in a CTE would read with the snapshot taken before waiting).

CREATE FUNCTION hotline.lock_for_dispatch(p_ticket_ids bigint[])
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
           ARRAY(SELECT u.code FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
                  WHERE a.ticket_id = t.id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at),
           (SELECT s.code FROM hotline.assignments a LEFT JOIN hotline.handling_units s ON s.id = a.suggested_unit_id
             WHERE a.ticket_id = t.id AND a.status = 'returned' AND a.role = 'lead' ORDER BY a.returned_at DESC LIMIT 1)
      FROM hotline.tickets t LEFT JOIN hotline.categories c ON c.id = t.category_id
     WHERE t.id = ANY (p_ticket_ids)
     ORDER BY t.id;
END
$$;
COMMENT ON FUNCTION hotline.lock_for_dispatch IS 'auto-dispatch: lock a group of tickets (id order) and read them for planning, with the units that returned each and the latest suggested unit.';

SELECT hotline.secure_functions();
GRANT EXECUTE ON FUNCTION hotline.lock_for_dispatch(bigint[]) TO hotline_dispatch;
