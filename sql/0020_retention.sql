-- Retention: years of operation without the hot tables growing with them.
--
-- 1. Ticket events stay a legal record, out of the hot table. The events of a ticket that ended
--    (closed, cancelled or merged) more than retention.archive_after_days ago move, verbatim with
--    their hashes, into hotline.ticket_events_archive: partitioned by the month the ticket
--    ended, one partition per month, created by the archiver when it first needs one. The chain
--    head (hotline.ticket_chain_heads) stays, so a later event on an archived ticket continues
--    its chain in the hot table, and hotline.verify_ticket_chain checks both tables as one chain.
--    ticket_events stays append-only: its trigger lets a row be deleted only inside the
--    archiver (a transaction-local flag) and only when an identical copy is already in the
--    archive, so deleting without archiving stays impossible. The archive itself is append-only.
-- 2. Operational rows nobody needs after their window are removed (hotline.prune_operational):
--    SMS outbox rows in a final state and read or unmatched inbound SMS (they carry citizens'
--    phone numbers), applied delivery receipts, past days' per-citizen SMS counters, and worker
--    rows of processes long gone. Tickets, events, assignments, timers, escalations,
--    supervisions, surveys and everything a KPI view reads are never removed.
-- 3. queue.prune_finished skips rows another pruner holds, so every process's runtime can prune
--    at once without queueing behind the others; the runtime now prunes in batches until done.
--
-- The sla-timer worker runs 1 and 2 about hourly (RetentionLoop); `hotline retain [--dry-run]`
-- runs or previews them by hand. Errors: HL021 (append-only), HL120 (arguments), HL121 (an
-- archive batch whose copy and removal disagree; nothing is changed).

INSERT INTO hotline.settings (key, value, description) VALUES
    ('retention.archive_after_days', '90', 'The events of a ticket that ended (closed, cancelled or merged) this many days ago move from hotline.ticket_events to hotline.ticket_events_archive.'),
    ('retention.sms_days', '180', 'SMS outbox rows in a final state (sent, delivered, failed, cancelled), read or unmatched inbound SMS and unmatched delivery receipts are removed this many days after they were written: they carry citizens'' phone numbers.'),
    ('retention.receipt_days', '7', 'Delivery receipts already applied to their message are removed after this many days (the message keeps the outcome).'),
    ('retention.worker_days', '7', 'Rows of worker processes not seen for this many days are removed from queue.workers.');

-- When a ticket ended, and whether its events are all in the archive ---------------------------

ALTER TABLE hotline.tickets
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN events_archived boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN hotline.tickets.ended_at IS 'When the ticket reached its current final status (closed: closed_at; cancelled, merged: the change); NULL while it is open. Kept by the tickets_ended trigger.';
COMMENT ON COLUMN hotline.tickets.events_archived IS 'True when all its events are in hotline.ticket_events_archive; a new event sets it back to false until the archiver moves that one too.';

CREATE FUNCTION hotline.mark_ticket_end() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('closed', 'cancelled', 'merged') THEN
        -- From one final status to another (a DBA's correction) the ticket ended when it first did.
        IF TG_OP = 'INSERT' OR OLD.status NOT IN ('closed', 'cancelled', 'merged') OR OLD.ended_at IS NULL THEN
            NEW.ended_at := CASE WHEN NEW.status = 'closed' AND NEW.closed_at IS NOT NULL THEN NEW.closed_at ELSE now() END;
        END IF;
    ELSE
        NEW.ended_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_ended_insert BEFORE INSERT ON hotline.tickets
    FOR EACH ROW WHEN (NEW.status IN ('closed', 'cancelled', 'merged'))
    EXECUTE FUNCTION hotline.mark_ticket_end();
CREATE TRIGGER tickets_ended BEFORE UPDATE OF status ON hotline.tickets
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION hotline.mark_ticket_end();

-- Tickets that ended before this migration: closed ones when they were closed, the others at
-- their last change or event.
UPDATE hotline.tickets t
   SET ended_at = CASE WHEN t.status = 'closed' AND t.closed_at IS NOT NULL THEN t.closed_at
                       ELSE greatest(t.updated_at, (SELECT h.last_event_at FROM hotline.ticket_chain_heads h WHERE h.ticket_id = t.id)) END
 WHERE t.status IN ('closed', 'cancelled', 'merged');

-- What the archiver looks for: ended tickets with events still in the hot table. Small (about
-- archive_after_days of endings), and untouched by the updates on the hot path: a ticket enters
-- it when it ends (a status change, which no index spares anyway) and leaves it when archived.
CREATE INDEX tickets_archivable_idx ON hotline.tickets (ended_at) WHERE ended_at IS NOT NULL AND NOT events_archived;

-- The archive --------------------------------------------------------------------------------------

CREATE TABLE hotline.ticket_events_archive (
    id          bigint      NOT NULL,
    ticket_id   bigint      NOT NULL REFERENCES hotline.tickets,
    seq         integer     NOT NULL,
    at          timestamptz NOT NULL,
    actor_kind  text        NOT NULL,
    actor       text        NOT NULL,
    event       text        NOT NULL,
    details     jsonb       NOT NULL,
    prev_hash   bytea,
    hash        bytea       NOT NULL,
    ended_month date        NOT NULL CHECK (extract(day FROM ended_month) = 1),
    archived_at timestamptz NOT NULL,
    -- (ticket_id, seq) is unique across the archive by construction: a row comes only from the
    -- hot table, where it is unique, and leaves it in the same transaction. A partitioned
    -- table's key must include the partition key.
    CONSTRAINT ticket_events_archive_pkey PRIMARY KEY (ticket_id, seq, ended_month)
) PARTITION BY RANGE (ended_month);
COMMENT ON TABLE hotline.ticket_events_archive IS 'Events of tickets that ended more than retention.archive_after_days ago, moved verbatim (hashes included) from hotline.ticket_events by hotline.archive_ended_tickets; one partition per month the ticket ended (ticket_events_archive_YYYY_MM), created on demand. Append-only. Read a ticket''s whole history through hotline.ticket_event_log; hotline.verify_ticket_chain checks both tables.';
COMMENT ON COLUMN hotline.ticket_events_archive.ended_month IS 'First day of the local month (time_zone setting) in which the ticket ended: the partition key.';
COMMENT ON COLUMN hotline.ticket_events_archive.archived_at IS 'When the archiver moved the row.';

CREATE FUNCTION hotline.refuse_archive_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'HL021', MESSAGE = 'archived ticket events are append-only',
        HINT = 'a month of the archive is removed only by detaching and dropping its partition, when the law allows';
END
$$;
CREATE TRIGGER ticket_events_archive_append_only BEFORE UPDATE OR DELETE ON hotline.ticket_events_archive
    FOR EACH ROW EXECUTE FUNCTION hotline.refuse_archive_change();
CREATE TRIGGER ticket_events_archive_no_truncate BEFORE TRUNCATE ON hotline.ticket_events_archive
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.refuse_archive_change();

-- The partition a ticket's events go to: the local month it ended.
CREATE FUNCTION hotline.archive_month(p_ended_at timestamptz)
RETURNS date
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN date_trunc('month', p_ended_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date;
END
$$;
COMMENT ON FUNCTION hotline.archive_month IS 'The archive partition (first day of the local month) for a ticket that ended at p_ended_at.';

-- Creates the month's partition if it is missing; returns its name. Only the archiver calls it,
-- under the retention lock, so two callers never race to create the same one. Creating a
-- partition locks the archive's parent briefly; a reader holding it for long makes this fail
-- after 10 s (the batch is tried again later) instead of queueing every reader behind it.
CREATE FUNCTION hotline.ensure_archive_partition(p_month date)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := format('ticket_events_archive_%s', to_char(p_month, 'YYYY_MM'));
    v_lock text := current_setting('lock_timeout');
BEGIN
    IF p_month IS NULL OR extract(day FROM p_month) <> 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL120', MESSAGE = format('an archive month is the first day of a month, not %s', p_month);
    END IF;
    IF to_regclass(format('hotline.%I', v_name)) IS NULL THEN
        PERFORM set_config('lock_timeout', '10s', true);
        EXECUTE format('CREATE TABLE hotline.%I PARTITION OF hotline.ticket_events_archive FOR VALUES FROM (%L) TO (%L)',
                       v_name, p_month, (p_month + interval '1 month')::date);
        -- Row triggers are cloned to partitions; a TRUNCATE of the partition itself needs its own.
        EXECUTE format('CREATE TRIGGER ticket_events_archive_no_truncate BEFORE TRUNCATE ON hotline.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION hotline.refuse_archive_change()', v_name);
        EXECUTE format('COMMENT ON TABLE hotline.%I IS %L', v_name,
                       format('Archived events of tickets that ended in %s (local time). Append-only.', to_char(p_month, 'YYYY-MM')));
        PERFORM set_config('lock_timeout', v_lock, true);
    END IF;
    RETURN v_name;
END
$$;
COMMENT ON FUNCTION hotline.ensure_archive_partition IS 'The archiver''s: create the archive partition of a month (ticket_events_archive_YYYY_MM) if missing. Error HL120.';

-- ticket_events stays append-only, with one exception ------------------------------------------

CREATE OR REPLACE FUNCTION hotline.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The archiver's move: only inside hotline.archive_ended_tickets (which sets the flag for its
    -- own delete and clears it after), and only when the archive already holds this very row.
    IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' AND current_setting('hotline.archiving', true) = 'on'
       AND EXISTS (SELECT 1 FROM hotline.ticket_events_archive a
                    WHERE a.ticket_id = OLD.ticket_id AND a.seq = OLD.seq
                      AND a.ended_month = (SELECT hotline.archive_month(t.ended_at) FROM hotline.tickets t WHERE t.id = OLD.ticket_id)
                      AND a.hash = OLD.hash AND a.id = OLD.id AND a.at = OLD.at AND a.actor_kind = OLD.actor_kind
                      AND a.actor = OLD.actor AND a.event = OLD.event AND a.details = OLD.details
                      AND a.prev_hash IS NOT DISTINCT FROM OLD.prev_hash) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'HL021', MESSAGE = 'ticket events are append-only',
        HINT = 'record a correction as a new event';
END
$$;

-- An event on a ticket whose history was archived continues its chain here, and makes the
-- ticket the archiver's again. Otherwise as in 0017.
CREATE OR REPLACE FUNCTION hotline.chain_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_count    integer;
    v_head     bytea;
    v_archived boolean;
BEGIN
    -- A no-op for the usual writer, which already holds the ticket's lock.
    SELECT t.events_archived INTO v_archived FROM hotline.tickets t WHERE t.id = NEW.ticket_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL020', MESSAGE = format('no ticket %s', NEW.ticket_id);
    END IF;
    IF v_archived THEN
        UPDATE hotline.tickets SET events_archived = false WHERE id = NEW.ticket_id;
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

-- Reading a ticket's whole history ---------------------------------------------------------------

CREATE VIEW hotline.ticket_event_log AS
SELECT e.id, e.ticket_id, e.seq, e.at, e.actor_kind, e.actor, e.event, e.details, e.prev_hash, e.hash,
       NULL::timestamptz AS archived_at
  FROM hotline.ticket_events e
UNION ALL
SELECT a.id, a.ticket_id, a.seq, a.at, a.actor_kind, a.actor, a.event, a.details, a.prev_hash, a.hash, a.archived_at
  FROM hotline.ticket_events_archive a;
COMMENT ON VIEW hotline.ticket_event_log IS 'Every ticket event, in the hot table or the archive (archived_at set): WHERE ticket_id = … ORDER BY seq is a ticket''s whole history. Readers of a ticket''s history use this, not hotline.ticket_events.';

-- The same check as before over the archive and the hot table together, in seq order.
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
    FOR e IN SELECT x.* FROM (
                 SELECT a.ticket_id, a.seq, a.at, a.actor_kind, a.actor, a.event, a.details, a.prev_hash, a.hash
                   FROM hotline.ticket_events_archive a WHERE a.ticket_id = p_ticket_id
                 UNION ALL
                 SELECT h.ticket_id, h.seq, h.at, h.actor_kind, h.actor, h.event, h.details, h.prev_hash, h.hash
                   FROM hotline.ticket_events h WHERE h.ticket_id = p_ticket_id) x
             ORDER BY x.seq LOOP
        v_n := v_n + 1;
        IF e.seq < v_n THEN
            RETURN QUERY SELECT false, v_n, e.seq, format('event %s is stored twice', e.seq);
            RETURN;
        END IF;
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
COMMENT ON FUNCTION hotline.verify_ticket_chain IS 'Check one ticket''s event hash chain across the archive and the hot table: ok, or the first bad event and why.';

-- Archiving ------------------------------------------------------------------------------------------

-- One lock for everything retention does (key 0x1234_5_0020; the migrator's is 0x1234_5_0001).
CREATE FUNCTION hotline.retention_lock_key()
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN 4886691872;
END
$$;

-- For a retention round's transaction: true when this transaction now holds the retention lock
-- (until it ends), false when another transaction holds it, so a replica skips instead of waiting.
CREATE FUNCTION hotline.try_retention_lock()
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RETURN pg_try_advisory_xact_lock(hotline.retention_lock_key());
END
$$;
COMMENT ON FUNCTION hotline.try_retention_lock IS 'Take the transaction-level retention lock if free: true when held now, false when another retention transaction runs (skip this round).';

-- Moves the events of tickets that ended more than retention.archive_after_days before p_now
-- (closed, cancelled or merged, and not reopened since: reopening clears ended_at) from the hot
-- table into the archive, in one transaction: about p_limit events at most (whole tickets only;
-- a ticket with more goes alone), oldest endings first. Tickets are locked in id order with SKIP
-- LOCKED, so one that is being reopened or acted on right now is skipped and taken next time.
-- The copy is verbatim; the hot rows are then deleted (the append-only trigger admits exactly
-- these), and both counts must agree or nothing is changed (HL121). Returns how many tickets and
-- events moved; tickets = 0 means nothing (unlocked) is left.
--   HL120 p_now missing or p_limit out of 1…1000000   HL121 copy and removal disagree
CREATE FUNCTION hotline.archive_ended_tickets(p_now timestamptz DEFAULT now(), p_limit integer DEFAULT 5000)
RETURNS TABLE (tickets integer, events integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_cutoff  timestamptz;
    v_ids     bigint[] := '{}';
    v_months  date[] := '{}';
    v_budget  integer := 0;
    v_copied  integer;
    v_deleted integer;
    r         record;
    m         date;
BEGIN
    IF p_now IS NULL OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL120', MESSAGE = 'archive_ended_tickets: a moment (p_now) and a limit of 1…1000000 events';
    END IF;
    v_cutoff := p_now - make_interval(days => (hotline.setting('retention.archive_after_days'))::integer);
    -- One archiver at a time: partitions are created on demand. (A retention round took it
    -- already with hotline.try_retention_lock; a DBA's call waits here for a running one.)
    PERFORM pg_advisory_xact_lock(hotline.retention_lock_key());

    FOR r IN
        SELECT t.id, t.ended_at, coalesce(h.event_count, 0) AS event_count
          FROM hotline.tickets t
          LEFT JOIN hotline.ticket_chain_heads h ON h.ticket_id = t.id
         WHERE t.id IN (SELECT c.id FROM hotline.tickets c
                         WHERE c.ended_at < v_cutoff AND NOT c.events_archived   -- tickets_archivable_idx
                         ORDER BY c.ended_at LIMIT p_limit)
           AND t.ended_at < v_cutoff AND NOT t.events_archived AND t.status IN ('closed', 'cancelled', 'merged')
         ORDER BY t.id
           FOR UPDATE OF t SKIP LOCKED
    LOOP
        -- The head's count bounds the hot events (fewer when part of the chain was archived before).
        EXIT WHEN v_budget > 0 AND v_budget + r.event_count > p_limit;
        v_ids := v_ids || r.id;
        v_months := v_months || hotline.archive_month(r.ended_at);
        v_budget := v_budget + r.event_count;
    END LOOP;
    IF cardinality(v_ids) = 0 THEN
        RETURN QUERY SELECT 0, 0;
        RETURN;
    END IF;

    FOR m IN SELECT DISTINCT x FROM unnest(v_months) x LOOP
        PERFORM hotline.ensure_archive_partition(m);
    END LOOP;
    INSERT INTO hotline.ticket_events_archive (id, ticket_id, seq, at, actor_kind, actor, event, details, prev_hash, hash,
                                               ended_month, archived_at)
    SELECT e.id, e.ticket_id, e.seq, e.at, e.actor_kind, e.actor, e.event, e.details, e.prev_hash, e.hash, x.month, now()
      FROM unnest(v_ids, v_months) AS x(ticket_id, month)
      JOIN hotline.ticket_events e ON e.ticket_id = x.ticket_id;
    GET DIAGNOSTICS v_copied = ROW_COUNT;

    PERFORM set_config('hotline.archiving', 'on', true);
    DELETE FROM hotline.ticket_events e WHERE e.ticket_id = ANY (v_ids);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('hotline.archiving', 'off', true);
    IF v_deleted <> v_copied THEN
        RAISE EXCEPTION USING ERRCODE = 'HL121',
            MESSAGE = format('archive: copied %s events but removed %s; nothing was changed', v_copied, v_deleted);
    END IF;

    UPDATE hotline.tickets SET events_archived = true WHERE id = ANY (v_ids);
    RETURN QUERY SELECT cardinality(v_ids), v_copied;
END
$$;
COMMENT ON FUNCTION hotline.archive_ended_tickets IS 'Move the events of tickets ended more than retention.archive_after_days before p_now into hotline.ticket_events_archive: one transaction of about p_limit events, locked tickets skipped. Returns (tickets, events) moved; call again while tickets > 0. Errors HL120, HL121.';

-- Pruning -----------------------------------------------------------------------------------------

-- The pruner's paths: each reads only rows that are (nearly all) due for removal.
CREATE INDEX sms_outbox_final_created_idx ON hotline.sms_outbox (created_at)
    WHERE status IN ('sent', 'delivered', 'failed', 'cancelled');
CREATE INDEX sms_inbound_done_received_idx ON hotline.sms_inbound (received_at) WHERE status IN ('read', 'unmatched');
CREATE INDEX sms_receipts_received_idx ON hotline.sms_receipts (received_at);
CREATE INDEX sms_citizen_day_day_idx ON hotline.sms_citizen_day (day);
CREATE INDEX workers_last_seen_idx ON queue.workers (last_seen_at);

-- Removes operational rows past their window, at most p_limit of each kind per call (one
-- transaction; rows another transaction holds are skipped). One row per kind: what, removed;
-- a kind with removed = p_limit has more. Never touches tickets, their events, assignments,
-- timers, escalations, supervisions, surveys, operator callbacks or anything a KPI view reads.
--   sms_outbox       final (sent, delivered, failed, cancelled), written and last touched
--                    more than retention.sms_days ago; pending, held, sending and unknown stay
--   sms_inbound      read or unmatched, received more than retention.sms_days ago (the survey
--                    keeps the reply as read); new ones stay
--   sms_receipts     applied ones after retention.receipt_days, unmatched ones after retention.sms_days
--   sms_citizen_day  counters of days before yesterday (local); only today's caps them
--   queue.workers    processes not seen for retention.worker_days
--   HL120 p_now missing or p_limit out of 1…1000000
CREATE FUNCTION hotline.prune_operational(p_now timestamptz DEFAULT now(), p_limit integer DEFAULT 10000)
RETURNS TABLE (what text, removed integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_sms      timestamptz;
    v_receipts timestamptz;
    v_workers  timestamptz;
    v_today    date;
    v_n        integer;
BEGIN
    IF p_now IS NULL OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL120', MESSAGE = 'prune_operational: a moment (p_now) and a limit of 1…1000000 rows';
    END IF;
    v_sms := p_now - make_interval(days => (hotline.setting('retention.sms_days'))::integer);
    v_receipts := p_now - make_interval(days => (hotline.setting('retention.receipt_days'))::integer);
    v_workers := p_now - make_interval(days => (hotline.setting('retention.worker_days'))::integer);
    v_today := (p_now AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date;

    DELETE FROM hotline.sms_outbox o
     WHERE o.id IN (SELECT x.id FROM hotline.sms_outbox x
                     WHERE x.status IN ('sent', 'delivered', 'failed', 'cancelled') AND x.created_at < v_sms
                       AND greatest(x.next_attempt_at, x.sent_at, x.delivered_at) < v_sms
                     LIMIT p_limit FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    what := 'sms_outbox'; removed := v_n; RETURN NEXT;

    DELETE FROM hotline.sms_inbound i
     WHERE i.id IN (SELECT x.id FROM hotline.sms_inbound x
                     WHERE x.status IN ('read', 'unmatched') AND x.received_at < v_sms
                     LIMIT p_limit FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    what := 'sms_inbound'; removed := v_n; RETURN NEXT;

    DELETE FROM hotline.sms_receipts r
     WHERE r.id IN (SELECT x.id FROM hotline.sms_receipts x
                     WHERE x.received_at < greatest(v_receipts, v_sms) AND (x.received_at < v_sms OR (x.matched AND x.received_at < v_receipts))
                     LIMIT p_limit FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    what := 'sms_receipts'; removed := v_n; RETURN NEXT;

    DELETE FROM hotline.sms_citizen_day d
     WHERE (d.phone, d.day) IN (SELECT x.phone, x.day FROM hotline.sms_citizen_day x
                                 WHERE x.day < v_today - 1
                                 LIMIT p_limit FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    what := 'sms_citizen_day'; removed := v_n; RETURN NEXT;

    DELETE FROM queue.workers w
     WHERE w.owner IN (SELECT x.owner FROM queue.workers x
                        WHERE x.last_seen_at < v_workers
                        LIMIT p_limit FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    what := 'queue.workers'; removed := v_n; RETURN NEXT;
END
$$;
COMMENT ON FUNCTION hotline.prune_operational IS 'Remove operational rows past their retention window (final SMS, read inbound SMS, receipts, past SMS day counters, long-gone workers), at most p_limit of each per call. Returns (what, removed); call again while any removed = p_limit. Error HL120.';

-- What a retention round at p_now would do, without doing it (hotline retain --dry-run). The
-- same conditions as the two functions above; RetentionTests checks that they agree.
CREATE FUNCTION hotline.retention_preview(p_now timestamptz DEFAULT now())
RETURNS TABLE (what text, candidates bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_archive  timestamptz;
    v_sms      timestamptz;
    v_receipts timestamptz;
    v_workers  timestamptz;
    v_today    date;
BEGIN
    IF p_now IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL120', MESSAGE = 'retention_preview: a moment (p_now)';
    END IF;
    v_archive := p_now - make_interval(days => (hotline.setting('retention.archive_after_days'))::integer);
    v_sms := p_now - make_interval(days => (hotline.setting('retention.sms_days'))::integer);
    v_receipts := p_now - make_interval(days => (hotline.setting('retention.receipt_days'))::integer);
    v_workers := p_now - make_interval(days => (hotline.setting('retention.worker_days'))::integer);
    v_today := (p_now AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date;
    RETURN QUERY
    WITH ended AS (
        SELECT t.id FROM hotline.tickets t
         WHERE t.ended_at < v_archive AND NOT t.events_archived AND t.status IN ('closed', 'cancelled', 'merged')
    )
    SELECT 'archive.tickets', (SELECT count(*) FROM ended)
    UNION ALL
    SELECT 'archive.events', (SELECT count(*) FROM hotline.ticket_events e WHERE e.ticket_id IN (SELECT id FROM ended))
    UNION ALL
    SELECT 'sms_outbox', (SELECT count(*) FROM hotline.sms_outbox x
                           WHERE x.status IN ('sent', 'delivered', 'failed', 'cancelled') AND x.created_at < v_sms
                             AND greatest(x.next_attempt_at, x.sent_at, x.delivered_at) < v_sms)
    UNION ALL
    SELECT 'sms_inbound', (SELECT count(*) FROM hotline.sms_inbound x WHERE x.status IN ('read', 'unmatched') AND x.received_at < v_sms)
    UNION ALL
    SELECT 'sms_receipts', (SELECT count(*) FROM hotline.sms_receipts x
                             WHERE x.received_at < greatest(v_receipts, v_sms)
                               AND (x.received_at < v_sms OR (x.matched AND x.received_at < v_receipts)))
    UNION ALL
    SELECT 'sms_citizen_day', (SELECT count(*) FROM hotline.sms_citizen_day x WHERE x.day < v_today - 1)
    UNION ALL
    SELECT 'queue.workers', (SELECT count(*) FROM queue.workers x WHERE x.last_seen_at < v_workers);
END
$$;
COMMENT ON FUNCTION hotline.retention_preview IS 'What a retention round at p_now would archive (archive.tickets, archive.events) and prune (per kind), counted without changing anything. Error HL120.';

-- Finished jobs: pruners in several processes split the work instead of queueing on each other's
-- rows; losing a prune to a crash only means pruning it again, so it commits asynchronously.
CREATE OR REPLACE FUNCTION queue.prune_finished(p_older_than interval, p_limit integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    DELETE FROM queue.finished_jobs f
     WHERE f.id IN (SELECT o.id FROM queue.finished_jobs o
                     WHERE o.finished_at < now() - p_older_than
                     LIMIT p_limit
                       FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION queue.prune_finished IS 'Remove at most p_limit finished jobs older than p_older_than (rows another pruner holds are skipped); returns how many. Call again while it returns p_limit.';

-- CREATE OR REPLACE keeps grants but resets SECURITY DEFINER and the fixed search_path.
SELECT hotline.secure_functions();

-- The sla-timer worker runs retention rounds; nobody else gets the archive (it held no right to
-- read hotline.ticket_events before either: analysts read tickets through the masked view).
GRANT EXECUTE ON FUNCTION hotline.try_retention_lock(), hotline.archive_ended_tickets(timestamptz, integer),
    hotline.prune_operational(timestamptz, integer), hotline.retention_preview(timestamptz) TO hotline_sla;
REVOKE ALL ON hotline.ticket_events_archive, hotline.ticket_event_log FROM PUBLIC;
