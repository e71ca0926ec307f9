-- Caller profile (群众画像), repeat-call linking, and the operators' knowledge base.
--
-- A repeat call is a new ticket from the same caller about a matter that is still open: it is
-- linked to the open ticket (status 'merged', merged_into) instead of being dispatched again,
-- and the open ticket counts it. intake-extraction asks hotline.open_matter_of() after it has
-- filled in the ticket; operators and dispatchers can link by hand with
-- hotline.merge_repeat_call(). Errors: HL040–HL043 (repeat calls), HL050–HL052 (knowledge base).

-- Settings ops can change without a deploy ---------------------------------------------------

CREATE TABLE hotline.settings (
    key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_.]{1,63}$'),
    value       jsonb NOT NULL,
    description text NOT NULL DEFAULT ''
);
COMMENT ON TABLE hotline.settings IS 'Tunable rules of the hotline (windows, thresholds). Read through hotline.setting(key).';

INSERT INTO hotline.settings (key, value, description) VALUES
    ('repeat_call.window_days', '30', 'A call is a repeat of an open ticket from the same caller received at most this many days earlier.'),
    ('repeat_call.min_similarity', '0.3', 'Without the same category, texts must share at least this share of character pairs (0–1) to count as the same matter.');

CREATE FUNCTION hotline.setting(p_key text)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT s.value INTO v FROM hotline.settings s WHERE s.key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL010', MESSAGE = format('unknown setting %L', p_key);
    END IF;
    RETURN v;
END
$$;

-- Repeat calls --------------------------------------------------------------------------------

-- The ticket, locked for the rest of the transaction (every change to a ticket serialises on
-- its row), or HL040 when there is none. Shared by every function that changes a ticket.
CREATE FUNCTION hotline.locked_ticket(p_ticket_id bigint)
RETURNS hotline.tickets
LANGUAGE plpgsql AS $$
DECLARE
    t hotline.tickets;
BEGIN
    SELECT * INTO t FROM hotline.tickets WHERE id = p_ticket_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL040', MESSAGE = format('no ticket %s', p_ticket_id);
    END IF;
    RETURN t;
END
$$;


ALTER TABLE hotline.tickets ADD COLUMN repeat_calls integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN hotline.tickets.repeat_calls IS 'How many later calls were linked to this ticket as repeats (merged_into = this id).';
CREATE INDEX tickets_merged_into_idx ON hotline.tickets (merged_into) WHERE merged_into IS NOT NULL;

-- States in which a ticket is still an open matter a repeat call can be linked to.
CREATE FUNCTION hotline.is_open_matter(p_status text)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_status IN ('extracted', 'dispatched', 'accepted', 'in_progress', 'feedback_given', 'returned', 'reopened')
$$;

-- Share of distinct character pairs two texts have in common (Jaccard, 0–1), ignoring spaces,
-- punctuation and digits: crude, but language-neutral and enough to tell "the same matter
-- again" from a different complaint by the same caller.
CREATE FUNCTION hotline.text_similarity(a text, b text)
RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH ca AS (SELECT regexp_replace(coalesce(a, ''), '[[:space:][:punct:][:digit:]，。！？、；：“”‘’（）《》０-９]', '', 'g') AS s),
         cb AS (SELECT regexp_replace(coalesce(b, ''), '[[:space:][:punct:][:digit:]，。！？、；：“”‘’（）《》０-９]', '', 'g') AS s),
         ga AS (SELECT DISTINCT substr(ca.s, i, 2) AS g FROM ca, generate_series(1, length(ca.s) - 1) i),
         gb AS (SELECT DISTINCT substr(cb.s, i, 2) AS g FROM cb, generate_series(1, length(cb.s) - 1) i),
         u AS (SELECT count(*) AS n FROM (SELECT g FROM ga UNION SELECT g FROM gb) x),
         c AS (SELECT count(*) AS n FROM (SELECT g FROM ga INTERSECT SELECT g FROM gb) x)
    SELECT CASE WHEN u.n = 0 THEN 0::real ELSE (c.n::real / u.n::real) END FROM u, c
$$;

-- The open ticket a filled-in ticket repeats, or NULL. The same matter: the same caller phone,
-- an open ticket received within the window before this one, not in another district, and
-- either the same category or similar text. A ticket number quoted in the text links directly.
CREATE FUNCTION hotline.open_matter_of(p_ticket_id bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t       hotline.tickets;
    v_found bigint;
    v_days  integer := (hotline.setting('repeat_call.window_days'))::integer;
    v_sim   real := (hotline.setting('repeat_call.min_similarity'))::real;
BEGIN
    SELECT * INTO t FROM hotline.tickets WHERE id = p_ticket_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL040', MESSAGE = format('no ticket %s', p_ticket_id);
    END IF;
    -- "我上次反映的 2026112500000042 …": callers quote the number the operator gave them.
    SELECT o.id INTO v_found
      FROM regexp_matches(t.content, '(20[0-9]{14})', 'g') AS m(no)
      JOIN hotline.tickets o ON o.ticket_no = m.no[1]
     WHERE o.id <> t.id AND hotline.is_open_matter(o.status)
     ORDER BY o.received_at DESC LIMIT 1;
    IF v_found IS NOT NULL OR t.caller_phone IS NULL THEN
        RETURN v_found;
    END IF;
    SELECT o.id INTO v_found
      FROM hotline.tickets o
     WHERE o.caller_phone = t.caller_phone
       AND o.id <> t.id
       AND hotline.is_open_matter(o.status)
       AND o.received_at BETWEEN t.received_at - make_interval(days => v_days) AND t.received_at
       AND (o.district_id IS NULL OR t.district_id IS NULL OR o.district_id = t.district_id)
       AND (o.category_id = t.category_id OR hotline.text_similarity(o.content, t.content) >= v_sim)
     ORDER BY (o.category_id = t.category_id) DESC, o.received_at DESC
     LIMIT 1;
    RETURN v_found;
END
$$;
COMMENT ON FUNCTION hotline.open_matter_of IS 'The open ticket this one repeats (same caller, same matter, within repeat_call.window_days; or a quoted ticket number), or NULL.';

-- Links a repeat call to the open ticket: the repeat becomes 'merged' and is not dispatched;
-- both tickets log it. Locks the open ticket first, then the repeat (one order, no deadlock).
--   HL040 no such ticket   HL041 the repeat is already closed, cancelled or merged
--   HL042 the target is not an open matter   HL043 a ticket cannot repeat itself
CREATE FUNCTION hotline.merge_repeat_call(p_ticket_id bigint, p_into bigint, p_actor_kind text, p_actor text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_into   hotline.tickets;
    v_repeat hotline.tickets;
BEGIN
    IF p_ticket_id = p_into THEN
        RAISE EXCEPTION USING ERRCODE = 'HL043', MESSAGE = format('ticket %s cannot be a repeat of itself', p_ticket_id);
    END IF;
    v_into := hotline.locked_ticket(p_into);
    v_repeat := hotline.locked_ticket(p_ticket_id);
    IF v_repeat.status IN ('closed', 'cancelled', 'merged') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL041', MESSAGE = format('ticket %s is %s and cannot be linked as a repeat call', p_ticket_id, v_repeat.status);
    END IF;
    IF NOT hotline.is_open_matter(v_into.status) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL042', MESSAGE = format('ticket %s is %s, not an open matter', p_into, v_into.status);
    END IF;
    UPDATE hotline.tickets SET status = 'merged', merged_into = p_into, updated_at = now() WHERE id = p_ticket_id;
    UPDATE hotline.tickets SET repeat_calls = repeat_calls + 1, updated_at = now() WHERE id = p_into;
    PERFORM hotline.append_event(p_ticket_id, p_actor_kind, p_actor, 'merged',
                                 jsonb_build_object('into', p_into, 'into_ticket_no', v_into.ticket_no));
    PERFORM hotline.append_event(p_into, p_actor_kind, p_actor, 'repeat_call',
                                 jsonb_build_object('ticket_id', p_ticket_id, 'ticket_no', v_repeat.ticket_no));
END
$$;
COMMENT ON FUNCTION hotline.merge_repeat_call IS 'Link a repeat call to the open ticket it repeats (status merged, no second dispatch). Errors HL040–HL043.';

-- The caller profile: a caller's tickets, newest first. The phone is normalised like
-- submit_ticket does, so any written form finds the same caller.
CREATE FUNCTION hotline.caller_profile(p_phone text, p_limit integer DEFAULT 50)
RETURNS TABLE (ticket_id bigint, ticket_no text, received_at timestamptz, status text, category text,
               district text, urgency_class text, merged_into bigint, repeat_calls integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_phone text := hotline.normalize_phone(p_phone);
BEGIN
    IF v_phone IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL005', MESSAGE = format('malformed caller phone %L', left(p_phone, 40));
    END IF;
    RETURN QUERY
    SELECT t.id, t.ticket_no, t.received_at, t.status, c.label, j.name, t.urgency_class, t.merged_into, t.repeat_calls
      FROM hotline.tickets t
      LEFT JOIN hotline.categories c ON c.id = t.category_id
      LEFT JOIN hotline.jurisdictions j ON j.id = t.district_id
     WHERE t.caller_phone = v_phone
     ORDER BY t.received_at DESC, t.id DESC
     LIMIT greatest(1, least(coalesce(p_limit, 50), 1000));
END
$$;
COMMENT ON FUNCTION hotline.caller_profile IS 'A caller''s tickets (群众画像), newest first, found by any written form of the phone number.';

-- Knowledge base ------------------------------------------------------------------------------

CREATE TABLE hotline.kb_articles (
    id          integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9-]{2,32}$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 2 AND 200),
    body        text NOT NULL CHECK (length(body) BETWEEN 2 AND 20000),
    category_id integer REFERENCES hotline.categories,
    keywords    text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hotline.kb_articles IS 'Knowledge-base articles operators read out or send (policies, procedures, who handles what). keywords are phrases callers use; category_id ties an article to a complaint category.';
CREATE INDEX kb_articles_category_idx ON hotline.kb_articles (category_id) WHERE active;

-- Articles ranked for a complaint text and/or category: each keyword found in the text scores
-- 1, the same category 1.5, the same level-2 group 0.5. Only articles with a keyword hit or a
-- category match are returned. (Kept to plain string tests: it runs for every new ticket.)
--   HL050 limit outside 1–50   HL051 neither text nor category given   HL052 unknown category
CREATE FUNCTION hotline.search_kb(p_text text, p_category_id integer DEFAULT NULL, p_limit integer DEFAULT 5)
RETURNS TABLE (article_id integer, code text, title text, score real)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_cat hotline.categories;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL050', MESSAGE = format('limit must be 1–50, not %s', p_limit);
    END IF;
    IF coalesce(btrim(p_text), '') = '' AND p_category_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL051', MESSAGE = 'search the knowledge base with a text, a category or both';
    END IF;
    IF p_category_id IS NOT NULL THEN
        SELECT * INTO v_cat FROM hotline.categories WHERE id = p_category_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'HL052', MESSAGE = format('no category %s', p_category_id);
        END IF;
    END IF;
    RETURN QUERY
    SELECT s.id, s.code, s.title,
           (s.hits + CASE WHEN s.category_id = p_category_id THEN 1.5
                          WHEN c.level1 = v_cat.level1 AND c.level2 = v_cat.level2 THEN 0.5 ELSE 0 END)::real AS score
      FROM (SELECT a.id, a.code, a.title, a.category_id,
                   (SELECT count(*) FROM unnest(a.keywords) k WHERE p_text IS NOT NULL AND length(k) > 0 AND strpos(p_text, k) > 0) AS hits
              FROM hotline.kb_articles a WHERE a.active) s
      LEFT JOIN hotline.categories c ON c.id = s.category_id
     WHERE s.hits > 0 OR s.category_id = p_category_id
     ORDER BY 4 DESC, s.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION hotline.search_kb IS 'Knowledge-base articles for a complaint text and/or category, best first. Errors HL050–HL052.';

-- Recording an extraction ---------------------------------------------------------------------

-- What intake-extraction decided, stored in one call inside the worker's job transaction:
-- fill in the ticket, log 'extracted' (with the suggested knowledge-base articles and the
-- caller's history), then either link it to the open matter it repeats or enqueue it for
-- auto-dispatch (emergencies and utility outages first). A ticket already past 'received' is
-- left alone (outcome 'skipped'), so a retried job does nothing twice.
--   HL040 no such ticket   HL044 unknown category label   HL045 unknown urgency class
--   HL046 extraction is not a JSON object
CREATE FUNCTION hotline.record_extraction(
    p_ticket_id    bigint,
    p_district_id  integer,
    p_street_id    integer,
    p_community_id integer,
    p_category     text,
    p_urgency      text,
    p_enterprise   boolean,
    p_sensitive    boolean,
    p_phone        text,
    p_id_number    text,
    p_address      text,
    p_extraction   jsonb
)
RETURNS TABLE (outcome text, merged_into bigint, kb_articles text[], earlier_tickets integer)
LANGUAGE plpgsql AS $$
DECLARE
    t          hotline.tickets;
    v_category integer;
    v_kb       text[];
    v_earlier  integer := 0;
    v_into     bigint;
    v_record   jsonb;
BEGIN
    t := hotline.locked_ticket(p_ticket_id);
    IF t.status <> 'received' THEN
        RETURN QUERY SELECT 'skipped'::text, t.merged_into, NULL::text[], NULL::integer;
        RETURN;
    END IF;
    IF p_category IS NOT NULL THEN
        SELECT c.id INTO v_category FROM hotline.categories c WHERE c.label = p_category;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'HL044', MESSAGE = format('unknown category %L', left(p_category, 200));
        END IF;
    END IF;
    IF p_urgency IS NULL OR NOT EXISTS (SELECT 1 FROM hotline.urgency_classes u WHERE u.code = p_urgency) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL045', MESSAGE = format('unknown urgency class %L', left(p_urgency, 40));
    END IF;
    IF p_extraction IS NULL OR jsonb_typeof(p_extraction) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL046', MESSAGE = 'extraction must be a JSON object';
    END IF;

    -- The worker suggests articles itself (same scoring, no database time); other callers get search_kb.
    IF jsonb_typeof(p_extraction->'kb_articles') = 'array' THEN
        v_kb := ARRAY(SELECT jsonb_array_elements_text(p_extraction->'kb_articles'));
    ELSE
        SELECT coalesce(array_agg(k.code ORDER BY k.score DESC, k.article_id), '{}') INTO v_kb
          FROM hotline.search_kb(t.content, v_category, 3) k;
    END IF;
    IF coalesce(t.caller_phone, hotline.normalize_phone(p_phone)) IS NOT NULL THEN
        SELECT count(*) INTO v_earlier FROM hotline.tickets o
         WHERE o.caller_phone = coalesce(t.caller_phone, hotline.normalize_phone(p_phone)) AND o.id <> t.id
           AND o.received_at <= t.received_at;
    END IF;
    v_record := p_extraction || jsonb_build_object('kb_articles', to_jsonb(v_kb), 'caller_earlier_tickets', v_earlier);

    UPDATE hotline.tickets
       SET status = 'extracted', district_id = p_district_id, street_id = p_street_id, community_id = p_community_id,
           category_id = v_category, urgency_class = p_urgency,
           is_enterprise = coalesce(p_enterprise, false), is_sensitive = coalesce(p_sensitive, false),
           caller_phone = coalesce(caller_phone, hotline.normalize_phone(p_phone)),
           caller_id_number = coalesce(caller_id_number, nullif(btrim(p_id_number), '')),
           address = coalesce(address, nullif(btrim(p_address), '')),
           extraction = v_record, updated_at = now()
     WHERE id = p_ticket_id;
    PERFORM hotline.append_event(p_ticket_id, 'process', 'intake-extraction', 'extracted', v_record);

    v_into := hotline.open_matter_of(p_ticket_id);
    IF v_into IS NOT NULL THEN
        PERFORM hotline.merge_repeat_call(p_ticket_id, v_into, 'process', 'intake-extraction');
        RETURN QUERY SELECT 'merged'::text, v_into, v_kb, v_earlier;
        RETURN;
    END IF;
    PERFORM queue.enqueue('auto-dispatch', 'ticket.dispatch', jsonb_build_object('ticket_id', p_ticket_id), NULL,
                          (CASE p_urgency WHEN 'emergency' THEN -10 WHEN 'basic_livelihood' THEN -5 ELSE 0 END)::smallint,
                          20, format('ticket:%s:dispatch', p_ticket_id));
    RETURN QUERY SELECT 'dispatch'::text, NULL::bigint, v_kb, v_earlier;
END
$$;
COMMENT ON FUNCTION hotline.record_extraction IS 'intake-extraction''s one write: fill in the ticket, log it, link a repeat call or enqueue auto-dispatch. Errors HL040, HL044–HL046.';
