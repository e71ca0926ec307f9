-- What DBAs, supervisors and the evaluation office read: running jobs and their owners,
-- intake by channel and state with the online share, escalations by level, the special
-- ledgers, and the units' evaluation (考核评价) by month, quarter, half-year and year with
-- rankings. Every view has a comment; all are read-only.

CREATE VIEW queue.running_jobs AS
SELECT j.id, j.queue, j.kind, j.lease_owner, j.attempt, j.attempted_at, j.lease_expires_at,
       j.lease_expires_at < now() AS lease_expired, now() - j.attempted_at AS running_for
  FROM queue.jobs j
 WHERE j.status = 'running';
COMMENT ON VIEW queue.running_jobs IS 'Jobs running now, who holds each lease and until when; lease_expired rows wait for the reaper (a crashed worker).';

CREATE VIEW hotline.tickets_by_channel AS
SELECT c.code AS channel, c.name AS channel_name, c.online, t.status, count(*) AS tickets
  FROM hotline.tickets t
  JOIN hotline.channels c ON c.code = t.channel
 GROUP BY c.code, c.name, c.online, t.status;
COMMENT ON VIEW hotline.tickets_by_channel IS 'Tickets per intake channel and state.';

CREATE VIEW hotline.daily_intake AS
SELECT (t.received_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date AS day,
       count(*) AS tickets,
       count(*) FILTER (WHERE c.online) AS online,
       round(count(*) FILTER (WHERE c.online)::numeric / count(*), 4) AS online_share,
       count(*) FILTER (WHERE t.status = 'merged') AS repeat_calls
  FROM hotline.tickets t
  JOIN hotline.channels c ON c.code = t.channel
 GROUP BY 1;
COMMENT ON VIEW hotline.daily_intake IS 'Tickets received per local day, how many through online channels (online share), and how many were repeat calls.';

CREATE VIEW hotline.escalations_by_level AS
SELECT e.level, e.trigger, g.name AS trigger_name, e.state, count(*) AS escalations, min(e.opened_at) AS oldest_opened_at
  FROM hotline.escalations e
  JOIN hotline.escalation_triggers g ON g.code = e.trigger
 GROUP BY e.level, e.trigger, g.name, e.state;
COMMENT ON VIEW hotline.escalations_by_level IS 'Escalations per level, trigger and state, with the oldest one''s opening time.';

CREATE VIEW hotline.special_ledgers AS
SELECT k.kind, t.ticket_no, t.id AS ticket_id, t.status, d.name AS district, c.label AS category, t.received_at, t.returns
  FROM hotline.tickets t
  CROSS JOIN LATERAL unnest(t.special_ledger) AS k(kind)
  LEFT JOIN hotline.jurisdictions d ON d.id = t.district_id
  LEFT JOIN hotline.categories c ON c.id = t.category_id;
COMMENT ON VIEW hotline.special_ledgers IS 'The special ledgers (专项台账): one row per ticket and kind (unreasonable, unclear_responsibility, buck_passing, enterprise).';

-- The evaluation in every period a fact falls in: a month, its quarter, its half-year, its year.
CREATE FUNCTION hotline.evaluation_periods(p_day date)
RETURNS TABLE (period text, starts date)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('month', date_trunc('month', p_day)::date),
           ('quarter', date_trunc('quarter', p_day)::date),
           ('half_year', make_date(extract(year FROM p_day)::integer, CASE WHEN extract(month FROM p_day) <= 6 THEN 1 ELSE 7 END, 1)),
           ('year', date_trunc('year', p_day)::date)
$$;

CREATE VIEW hotline.unit_evaluation AS
WITH handled AS (
    SELECT a.unit_id, p.period, p.starts,
           count(*) AS dispatched,
           count(*) FILTER (WHERE a.accepted_at IS NOT NULL AND a.accepted_at <= a.accept_due_at) AS accepted_in_time
      FROM hotline.assignments a
     CROSS JOIN LATERAL hotline.evaluation_periods((a.dispatched_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date) p
     WHERE a.role IN ('lead', 'co_handler')
     GROUP BY 1, 2, 3
), answered AS (
    SELECT c.lead_unit_id AS unit_id, p.period, p.starts,
           count(*) FILTER (WHERE c.resolved IS NOT NULL) AS said_resolved,
           count(*) FILTER (WHERE c.resolved) AS resolved,
           count(*) FILTER (WHERE c.satisfaction IS NOT NULL) AS rated,
           count(*) FILTER (WHERE c.satisfaction IN ('satisfied', 'basically_satisfied')) AS satisfied
      FROM hotline.callback_surveys c
     CROSS JOIN LATERAL hotline.evaluation_periods((c.sent_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date) p
     WHERE c.status = 'answered' AND c.lead_unit_id IS NOT NULL
     GROUP BY 1, 2, 3
), rates AS (
    SELECT coalesce(h.unit_id, a.unit_id) AS unit_id, coalesce(h.period, a.period) AS period, coalesce(h.starts, a.starts) AS starts,
           coalesce(h.dispatched, 0) AS dispatched, coalesce(h.accepted_in_time, 0) AS accepted_in_time,
           round(h.accepted_in_time::numeric / nullif(h.dispatched, 0), 4) AS response_rate,
           coalesce(a.resolved, 0) AS resolved, round(a.resolved::numeric / nullif(a.said_resolved, 0), 4) AS resolution_rate,
           coalesce(a.satisfied, 0) AS satisfied, coalesce(a.rated, 0) AS rated,
           round(a.satisfied::numeric / nullif(a.rated, 0), 4) AS satisfaction_rate
      FROM handled h
      FULL JOIN answered a ON a.unit_id = h.unit_id AND a.period = h.period AND a.starts = h.starts
)
SELECT u.code AS unit, u.name AS unit_name, u.level AS unit_level, r.period, r.starts,
       r.dispatched, r.accepted_in_time, r.response_rate, r.resolved, r.resolution_rate, r.satisfied, r.rated, r.satisfaction_rate,
       -- Ranked among units of the same level in the same period: satisfaction, then resolution,
       -- then response; a unit with no callbacks yet ranks after those with some.
       rank() OVER (PARTITION BY r.period, r.starts, u.level
                    ORDER BY r.satisfaction_rate DESC NULLS LAST, r.resolution_rate DESC NULLS LAST, r.response_rate DESC NULLS LAST) AS rank
  FROM rates r
  JOIN hotline.handling_units u ON u.id = r.unit_id;
COMMENT ON VIEW hotline.unit_evaluation IS 'Each unit''s response rate (accepted in time / dispatched as lead or co-handler), resolution and satisfaction rates (from callbacks; basically satisfied counts as satisfied) per month, quarter, half_year and year, ranked among units of its level. WHERE period = ''quarter'' AND starts = ''2026-10-01''.';

-- Entry-point limits the first migrations missed (found by the hostile-input tests): an address
-- is a line, not a document. Checked on every write path, with a stable code.
--   HL008 address over 500 characters
CREATE FUNCTION hotline.check_ticket_limits() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF length(NEW.address) > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL008', MESSAGE = format('address has %s characters; at most 500 are accepted', length(NEW.address));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_limits BEFORE INSERT OR UPDATE OF address ON hotline.tickets
    FOR EACH ROW EXECUTE FUNCTION hotline.check_ticket_limits();
