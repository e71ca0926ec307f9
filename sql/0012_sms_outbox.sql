-- The SMS outbox as the SMS-notify worker's job table: templates as data rendered with checked
-- variables, purposes and priorities, dedupe keys, Chinese segment counts, citizens' quiet
-- hours, a gateway-wide rate and a per-citizen daily cap, leases so a crash never loses a
-- message or sends it twice silently, retries, and delivery receipts.
-- Rules: ../shared/DOMAIN.md "Notifications". Errors HL100–HL109, listed at each function.

INSERT INTO hotline.settings (key, value, description) VALUES
    ('sms.rate_per_second', '0', 'Messages per second to the gateway for the whole fleet (0: no limit).'),
    ('sms.citizen_daily_cap', '5', 'Most messages a citizen''s number gets per local day; more wait for the next day.'),
    ('sms.max_attempts', '8', 'Sending attempts before a message that keeps failing transiently is given up.'),
    ('sms.unknown_policy', '"resend"', 'A message whose outcome is unknown (crash between send and commit, a garbled gateway reply): "resend" with the same idempotency reference (with backoff, within sms.max_attempts; then it waits as unknown), or "hold" for an explicit hotline.resend_sms().'),
    ('citizen.quiet_hours', '["21:00", "08:00"]', 'No non-urgent SMS to citizens between these local times; such messages wait for the morning.'),
    ('time_zone', '"Asia/Shanghai"', 'The local time zone: quiet hours, daily caps, working days, deadlines in messages.');

-- The first moment at or after p_at outside citizens' quiet hours (local time).
CREATE FUNCTION hotline.outside_quiet_hours(p_at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_tz    text := hotline.setting('time_zone') #>> '{}';
    v_q     jsonb := hotline.setting('citizen.quiet_hours');
    v_start time := (v_q->>0)::time;
    v_end   time := (v_q->>1)::time;
    v_local timestamp := p_at AT TIME ZONE v_tz;
    v_t     time := v_local::time;
BEGIN
    IF v_start > v_end THEN   -- across midnight, e.g. 21:00–08:00
        IF v_t >= v_start THEN RETURN ((v_local::date + 1) + v_end) AT TIME ZONE v_tz; END IF;
        IF v_t < v_end THEN RETURN (v_local::date + v_end) AT TIME ZONE v_tz; END IF;
    ELSIF v_t >= v_start AND v_t < v_end THEN
        RETURN (v_local::date + v_end) AT TIME ZONE v_tz;
    END IF;
    RETURN p_at;
END
$$;

-- A moment as people read it in messages: local month-day hour:minute.
CREATE FUNCTION hotline.local_minute(p_at timestamptz)
RETURNS text
LANGUAGE sql STABLE AS $$ SELECT to_char(p_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'), 'MM-DD HH24:MI') $$;

-- Templates ------------------------------------------------------------------------------------

CREATE TABLE hotline.sms_templates (
    code      text PRIMARY KEY CHECK (code ~ '^[a-z][a-z_.]{1,63}$'),
    purpose   text NOT NULL CHECK (purpose IN ('handler_notice', 'urging', 'supervision', 'escalation', 'citizen_receipt', 'survey')),
    recipient text NOT NULL CHECK (recipient IN ('unit', 'citizen')),
    -- Urgent messages reach citizens at night too; all messages to units are sent at once.
    urgent    boolean NOT NULL DEFAULT false,
    priority  smallint NOT NULL DEFAULT 0,
    body      text NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    -- {link} is filled by SMS-notify at sending: a signed, expiring link to the ticket.
    variables text[] NOT NULL
);
COMMENT ON TABLE hotline.sms_templates IS 'SMS texts with {placeholders}; variables lists exactly the placeholders the body uses besides {link} (checked on write). Rendered by the outbox on insert.';

-- The placeholders a body uses, besides {link}.
CREATE FUNCTION hotline.template_placeholders(p_body text)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]) FILTER (WHERE m[1] <> 'link'), '{}')
      FROM regexp_matches(p_body, '\{([a-z_]+)\}', 'g') AS m
$$;

CREATE FUNCTION hotline.check_sms_template() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF hotline.template_placeholders(NEW.body) IS DISTINCT FROM (SELECT coalesce(array_agg(DISTINCT v ORDER BY v), '{}') FROM unnest(NEW.variables) v) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('template %s uses {%s} but declares {%s}', NEW.code,
            array_to_string(hotline.template_placeholders(NEW.body), '}, {'), array_to_string(NEW.variables, '}, {'));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sms_templates_check BEFORE INSERT OR UPDATE ON hotline.sms_templates
    FOR EACH ROW EXECUTE FUNCTION hotline.check_sms_template();

INSERT INTO hotline.sms_templates (code, purpose, recipient, urgent, priority, body, variables) VALUES
    ('dispatch.lead', 'handler_notice', 'unit', false, 5, '【12345】{unit}：工单{ticket_no}（{class}）已派发贵单位，请于{accept_due}前签收。办理：{link}', '{unit,ticket_no,class,accept_due}'),
    ('dispatch.co_handler', 'handler_notice', 'unit', false, 5, '【12345】{unit}：工单{ticket_no}（{class}）已派发（协办）贵单位，请于{accept_due}前签收。办理：{link}', '{unit,ticket_no,class,accept_due}'),
    ('dispatch.cc', 'handler_notice', 'unit', false, 0, '【12345】{unit}：工单{ticket_no}（{class}）抄送贵单位，请知悉。查看：{link}', '{unit,ticket_no,class}'),
    ('dispatch.summoned', 'handler_notice', 'unit', false, 5, '【12345】{unit}：工单{ticket_no}主办单位吹哨，请贵单位报到协同处置。办理：{link}', '{unit,ticket_no}'),
    ('sla.warning', 'urging', 'unit', false, 3, '【12345】{unit}：工单{ticket_no}将于{due}到{what}时限，请抓紧办理。{link}', '{unit,ticket_no,due,what}'),
    ('sla.urging', 'urging', 'unit', false, 6, '【12345】催办：{unit}，工单{ticket_no}已超过{what}时限（{due}），请立即办理。{link}', '{unit,ticket_no,due,what}'),
    ('escalation.opened', 'escalation', 'unit', false, 8, '【12345】异常工单上报（{trigger}，{level}级）：工单{ticket_no}，请督促办理。', '{trigger,level,ticket_no}'),
    ('supervision.opened', 'supervision', 'unit', false, 7, '【12345】督办：工单{ticket_no}由{supervisor}督办，请于{due}前办结并反馈。{link}', '{ticket_no,supervisor,due}'),
    ('citizen.receipt', 'citizen_receipt', 'citizen', false, 0, '【12345】您的诉求已受理，工单号{ticket_no}。办理结果将短信告知，感谢您的支持。', '{ticket_no}'),
    ('callback.survey', 'survey', 'citizen', false, 0, '【12345】您好，您反映的问题（工单号{ticket_no}）承办单位已办结。请回复数字评价：1 满意，2 基本满意，3 不满意；如问题没有解决，请回复 0。感谢您的支持！', '{ticket_no}');

-- Renders a template's body with p_variables (strings or numbers, each 1…100 characters; none
-- missing, none extra). {link} stays for SMS-notify to fill.
--   HL100 unknown template   HL101 a variable missing, extra, or not a short string
CREATE FUNCTION hotline.render_sms(p_template text, p_variables jsonb)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t      hotline.sms_templates;
    v_body text;
    v_key  text;
    v_val  jsonb;
BEGIN
    SELECT * INTO t FROM hotline.sms_templates WHERE code = p_template;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('unknown SMS template %L', left(p_template, 64));
    END IF;
    IF p_variables IS NULL OR jsonb_typeof(p_variables) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'HL101', MESSAGE = format('template %s needs its variables as a JSON object', p_template);
    END IF;
    v_body := t.body;
    FOREACH v_key IN ARRAY t.variables LOOP
        v_val := p_variables->v_key;
        IF v_val IS NULL OR jsonb_typeof(v_val) NOT IN ('string', 'number') OR length(v_val #>> '{}') NOT BETWEEN 1 AND 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'HL101', MESSAGE = format('template %s: variable %s is missing, empty, too long or not text', p_template, v_key);
        END IF;
        v_body := replace(v_body, '{' || v_key || '}', v_val #>> '{}');
    END LOOP;
    SELECT string_agg(k, ', ') INTO v_key FROM jsonb_object_keys(p_variables) k WHERE NOT k = ANY (t.variables);
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL101', MESSAGE = format('template %s has no variable(s) %s', p_template, v_key);
    END IF;
    RETURN v_body;
END
$$;

-- Segments as a Chinese carrier bills them: 70 characters in one message, 67 per part when
-- concatenated; pure GSM text 160 / 153.
CREATE FUNCTION hotline.sms_segments(p_body text)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_body ~ '^[\x20-\x7E\n]*$'
                THEN CASE WHEN length(p_body) <= 160 THEN 1 ELSE ceil(length(p_body) / 153.0)::integer END
                ELSE CASE WHEN length(p_body) <= 70 THEN 1 ELSE ceil(length(p_body) / 67.0)::integer END END
$$;

-- The outbox -----------------------------------------------------------------------------------

ALTER TABLE hotline.sms_outbox
    DROP CONSTRAINT sms_outbox_status_check,
    ADD CONSTRAINT sms_outbox_status_check CHECK (status IN ('pending', 'held', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'cancelled')),
    ADD COLUMN purpose text CHECK (purpose IN ('handler_notice', 'urging', 'supervision', 'escalation', 'citizen_receipt', 'survey')),
    ADD COLUMN recipient text CHECK (recipient IN ('unit', 'citizen')),
    ADD COLUMN urgent boolean NOT NULL DEFAULT false,
    ADD COLUMN priority smallint NOT NULL DEFAULT 0,
    ADD COLUMN variables jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN dedupe_key text CHECK (length(dedupe_key) BETWEEN 1 AND 200),
    ADD COLUMN segments integer,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN lease_owner text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN provider_message_id text,
    ADD COLUMN last_error text,
    ADD COLUMN unknown_count integer NOT NULL DEFAULT 0,
    ADD COLUMN delivered_at timestamptz;
ALTER TABLE hotline.sms_outbox ALTER COLUMN body DROP NOT NULL;
ALTER TABLE hotline.sms_outbox ADD CONSTRAINT sms_outbox_body CHECK (body IS NOT NULL AND length(body) BETWEEN 1 AND 500);
COMMENT ON TABLE hotline.sms_outbox IS 'Every text message, written in the writer''s own transaction (hotline.queue_sms or a plain INSERT with template and variables): rendered and classified on insert, sent by SMS-notify. status: pending → sending (leased) → sent → delivered, or held (quiet hours, daily cap), failed (reason in last_error), unknown (outcome lost in a crash; resolved by sms.unknown_policy), cancelled.';
COMMENT ON COLUMN hotline.sms_outbox.dedupe_key IS 'Optional: a second message with the same key is not queued (hotline.queue_sms returns the first).';
DROP INDEX hotline.sms_outbox_pending_idx;
CREATE INDEX sms_outbox_due_idx ON hotline.sms_outbox (priority DESC, next_attempt_at, id) WHERE status IN ('pending', 'held');
CREATE INDEX sms_outbox_next_idx ON hotline.sms_outbox (next_attempt_at) WHERE status IN ('pending', 'held');
CREATE INDEX sms_outbox_sending_idx ON hotline.sms_outbox (lease_expires_at) WHERE status = 'sending';
CREATE UNIQUE INDEX sms_outbox_dedupe_idx ON hotline.sms_outbox (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE UNIQUE INDEX sms_outbox_provider_idx ON hotline.sms_outbox (provider_message_id) WHERE provider_message_id IS NOT NULL;
ALTER TABLE hotline.sms_outbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Every insert, whoever writes it: the template must exist; the body is rendered from the
-- variables unless given; purpose, recipient, priority and segments come from the template;
-- a non-urgent message to a citizen waits out the quiet hours.
CREATE FUNCTION hotline.prepare_sms() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t hotline.sms_templates;
BEGIN
    SELECT * INTO t FROM hotline.sms_templates WHERE code = NEW.template;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL100', MESSAGE = format('unknown SMS template %L', left(NEW.template, 64));
    END IF;
    IF NEW.body IS NULL THEN
        NEW.body := hotline.render_sms(NEW.template, NEW.variables);
    END IF;
    NEW.purpose := t.purpose;
    NEW.recipient := t.recipient;
    NEW.urgent := t.urgent;
    NEW.priority := t.priority;
    NEW.segments := hotline.sms_segments(NEW.body);
    IF t.recipient = 'citizen' AND NOT t.urgent THEN
        NEW.next_attempt_at := hotline.outside_quiet_hours(greatest(NEW.next_attempt_at, now()));
        IF NEW.next_attempt_at > now() AND NEW.status = 'pending' THEN
            NEW.status := 'held';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sms_outbox_prepare BEFORE INSERT ON hotline.sms_outbox
    FOR EACH ROW EXECUTE FUNCTION hotline.prepare_sms();

-- Messages due now wake SMS-notify (payload: the table, on the queue's wake-up channel).
CREATE FUNCTION hotline.notify_sms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_messages n WHERE n.status = 'pending' AND n.next_attempt_at <= now() + interval '1 second') THEN
        PERFORM pg_notify('queue_jobs', 'hotline.sms_outbox');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sms_outbox_notify AFTER INSERT ON hotline.sms_outbox
    REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION hotline.notify_sms();

-- Queues one message; returns its id (or, for a dedupe key already used, the first one's).
--   HL100 unknown template   HL101 bad variables   HL102 malformed phone
CREATE FUNCTION hotline.queue_sms(p_template text, p_phone text, p_variables jsonb,
                                  p_ticket_id bigint DEFAULT NULL, p_unit_id integer DEFAULT NULL, p_dedupe_key text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_phone text := hotline.normalize_phone(p_phone);
    v_id    bigint;
BEGIN
    IF v_phone IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HL102', MESSAGE = format('malformed recipient phone %L', left(p_phone, 40));
    END IF;
    INSERT INTO hotline.sms_outbox (ticket_id, unit_id, phone, template, variables, dedupe_key)
    VALUES (p_ticket_id, p_unit_id, v_phone, p_template, coalesce(p_variables, '{}'), p_dedupe_key)
    ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT id INTO v_id FROM hotline.sms_outbox WHERE dedupe_key = p_dedupe_key;
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION hotline.queue_sms IS 'Queue one SMS in the caller''s transaction. Errors HL100, HL101, HL102.';

-- The same message to every contact of a unit; returns how many were queued.
CREATE FUNCTION hotline.sms_unit(p_ticket_id bigint, p_unit_id integer, p_template text, p_variables jsonb)
RETURNS integer
LANGUAGE sql AS $$
    WITH sent AS (
        INSERT INTO hotline.sms_outbox (ticket_id, unit_id, phone, template, variables)
        SELECT p_ticket_id, u.id, hotline.normalize_phone(c->>'phone'), p_template, p_variables
          FROM hotline.handling_units u, jsonb_array_elements(u.contacts) c
         WHERE u.id = p_unit_id AND hotline.normalize_phone(c->>'phone') IS NOT NULL
        RETURNING 1
    )
    SELECT count(*)::integer FROM sent
$$;

-- Sending -------------------------------------------------------------------------------------

CREATE TABLE hotline.sms_rate (
    id           integer PRIMARY KEY CHECK (id = 1),
    window_start timestamptz NOT NULL DEFAULT now(),
    used         integer NOT NULL DEFAULT 0
);
INSERT INTO hotline.sms_rate (id) VALUES (1);
COMMENT ON TABLE hotline.sms_rate IS 'The fleet-wide gateway budget for the current second (sms.rate_per_second); claims update it under its row lock.';

CREATE TABLE hotline.sms_citizen_day (
    phone text NOT NULL,
    day   date NOT NULL,
    sent  integer NOT NULL,
    PRIMARY KEY (phone, day)
);
COMMENT ON TABLE hotline.sms_citizen_day IS 'Messages claimed per citizen number and local day, for sms.citizen_daily_cap.';

-- Claims up to p_limit due messages for p_owner under a lease, within the gateway's budget and
-- the citizens' daily caps (a citizen over the cap waits for the next morning). First turns
-- messages whose lease expired while sending into 'unknown' and resolves them by
-- sms.unknown_policy. Commit before sending.
--   HL103 limit or lease out of range
CREATE FUNCTION hotline.claim_sms(p_owner text, p_limit integer, p_lease_seconds double precision)
RETURNS TABLE (id bigint, phone text, body text, template text, variables text, ticket_no text, unit_code text, attempt integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_rate   integer := (hotline.setting('sms.rate_per_second'))::integer;
    v_cap    integer := (hotline.setting('sms.citizen_daily_cap'))::integer;
    v_tz     text := hotline.setting('time_zone') #>> '{}';
    v_policy text := hotline.setting('sms.unknown_policy') #>> '{}';
    v_limit  integer := p_limit;
    v_now    timestamptz := clock_timestamp();
    r        hotline.sms_rate;
    v_ids    bigint[];
BEGIN
    IF coalesce(p_owner, '') = '' OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000
       OR p_lease_seconds IS NULL OR p_lease_seconds NOT BETWEEN 1 AND 3600 THEN
        RAISE EXCEPTION USING ERRCODE = 'HL103', MESSAGE = 'claim_sms: an owner, limit 1…1000, lease 1…3600 seconds';
    END IF;
    -- A lease that expired while sending: nobody knows whether the gateway got it.
    UPDATE hotline.sms_outbox o
       SET status = CASE WHEN v_policy = 'resend' AND o.attempts < (hotline.setting('sms.max_attempts'))::integer THEN 'pending' ELSE 'unknown' END,
           unknown_count = o.unknown_count + 1, lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = v_now,
           last_error = 'outcome unknown: the sender''s lease expired while sending'
     WHERE o.id IN (SELECT x.id FROM hotline.sms_outbox x WHERE x.status = 'sending' AND x.lease_expires_at < v_now
                     ORDER BY x.lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED);

    -- Quiet hours hold at sending time too: a retry, a resend or a backlog must not reach a
    -- citizen at night with a message that is not urgent.
    IF hotline.outside_quiet_hours(v_now) > v_now THEN
        UPDATE hotline.sms_outbox o SET status = 'held', next_attempt_at = hotline.outside_quiet_hours(v_now)
         WHERE o.id IN (SELECT x.id FROM hotline.sms_outbox x
                         WHERE x.status IN ('pending', 'held') AND x.next_attempt_at <= v_now AND x.recipient = 'citizen' AND NOT x.urgent
                         LIMIT 10000 FOR UPDATE SKIP LOCKED);
    END IF;

    IF v_rate > 0 THEN
        SELECT * INTO r FROM hotline.sms_rate WHERE sms_rate.id = 1 FOR UPDATE;
        IF r.window_start < date_trunc('second', v_now) THEN
            r.window_start := date_trunc('second', v_now);
            r.used := 0;
        END IF;
        v_limit := least(v_limit, v_rate - r.used);
        IF v_limit <= 0 THEN
            RETURN;
        END IF;
    END IF;

    WITH due AS (
        SELECT x.id, x.phone, x.recipient FROM hotline.sms_outbox x
         WHERE x.status IN ('pending', 'held') AND x.next_attempt_at <= v_now
         ORDER BY x.priority DESC, x.next_attempt_at, x.id
         LIMIT v_limit
           FOR UPDATE SKIP LOCKED
    ), counted AS (
        -- Citizens' numbers: how many this claim would add today, in order.
        SELECT d.id, d.recipient,
               coalesce(c.sent, 0) + row_number() OVER (PARTITION BY d.phone ORDER BY d.id) AS nth
          FROM due d
          LEFT JOIN hotline.sms_citizen_day c ON c.phone = d.phone AND c.day = (v_now AT TIME ZONE v_tz)::date AND d.recipient = 'citizen'
    ), over_cap AS (
        UPDATE hotline.sms_outbox o
           SET status = 'held', last_error = 'citizen daily cap reached',
               next_attempt_at = hotline.outside_quiet_hours(((v_now AT TIME ZONE v_tz)::date + 1)::timestamp AT TIME ZONE v_tz)
          FROM counted c WHERE o.id = c.id AND c.recipient = 'citizen' AND v_cap > 0 AND c.nth > v_cap
        RETURNING o.id
    ), claimed AS (
        UPDATE hotline.sms_outbox o
           SET status = 'sending', lease_owner = p_owner, attempts = o.attempts + 1,
               lease_expires_at = v_now + make_interval(secs => p_lease_seconds)
          FROM counted c WHERE o.id = c.id AND NOT (c.recipient = 'citizen' AND v_cap > 0 AND c.nth > v_cap)
        RETURNING o.id
    )
    SELECT array_agg(claimed.id) INTO v_ids FROM claimed;

    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO hotline.sms_citizen_day AS d (phone, day, sent)
    SELECT o.phone, (v_now AT TIME ZONE v_tz)::date, count(*) FROM hotline.sms_outbox o
     WHERE o.id = ANY (v_ids) AND o.recipient = 'citizen' GROUP BY o.phone
    ON CONFLICT (phone, day) DO UPDATE SET sent = d.sent + EXCLUDED.sent;
    IF v_rate > 0 THEN
        UPDATE hotline.sms_rate SET window_start = r.window_start, used = r.used + cardinality(v_ids) WHERE sms_rate.id = 1;
    END IF;
    RETURN QUERY
    SELECT o.id, o.phone, o.body, o.template, o.variables::text, t.ticket_no, u.code, o.attempts
      FROM hotline.sms_outbox o
      LEFT JOIN hotline.tickets t ON t.id = o.ticket_id
      LEFT JOIN hotline.handling_units u ON u.id = o.unit_id
     WHERE o.id = ANY (v_ids)
     ORDER BY o.priority DESC, o.id;
END
$$;
COMMENT ON FUNCTION hotline.claim_sms IS 'SMS-notify''s claim: due messages under a lease, within rate and caps. Error HL103.';

-- What an idle sender looks at: seconds until the next message is due (NULL: none), and how
-- many messages wait as unknown for a person (hotline.resend_sms), for its metrics.
CREATE FUNCTION hotline.sms_outlook(OUT next_in double precision, OUT unknown integer)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp())::float8
              FROM hotline.sms_outbox WHERE status IN ('pending', 'held')),
           (SELECT count(*)::integer FROM hotline.sms_outbox WHERE status = 'unknown')
$$;
CREATE INDEX sms_outbox_unknown_idx ON hotline.sms_outbox (id) WHERE status = 'unknown';

-- Records the outcomes of one claim's sends in one statement. p_results: [{"id", "outcome":
-- sent|transient|permanent|unknown, "provider_id", "error", "retry_after" (seconds), "segments"}].
-- Only messages the owner still holds (or that were marked unknown meanwhile) change.
-- Transient failures retry with backoff (5 s · 2^attempt, at most an hour, or the gateway's
-- Retry-After) until sms.max_attempts. Returns how many rows changed.
--   HL104 results malformed
CREATE FUNCTION hotline.record_sms_results(p_owner text, p_results jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_max integer := (hotline.setting('sms.max_attempts'))::integer;
    v_n   integer;
BEGIN
    IF p_results IS NULL OR jsonb_typeof(p_results) <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_results) e
                   WHERE jsonb_typeof(e->'id') IS DISTINCT FROM 'number'
                      OR coalesce(e->>'outcome', '') NOT IN ('sent', 'transient', 'permanent', 'unknown')
                      OR (e ? 'retry_after' AND jsonb_typeof(e->'retry_after') NOT IN ('number', 'null'))
                      OR (e ? 'segments' AND jsonb_typeof(e->'segments') NOT IN ('number', 'null'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'HL104', MESSAGE = 'SMS results are an array of {id, outcome: sent|transient|permanent|unknown, …}';
    END IF;
    WITH r AS (
        SELECT (e->>'id')::bigint AS id, e->>'outcome' AS outcome, e->>'provider_id' AS provider_id, left(e->>'error', 500) AS error,
               (e->>'retry_after')::float8 AS retry_after, (e->>'segments')::integer AS segments
          FROM jsonb_array_elements(p_results) e
    )
    UPDATE hotline.sms_outbox o
       SET status = CASE r.outcome
                        WHEN 'sent' THEN 'sent'
                        WHEN 'permanent' THEN 'failed'
                        -- Resending an unknown one counts as an attempt too: a gateway that garbles
                        -- every reply must not be hammered forever.
                        WHEN 'unknown' THEN CASE WHEN (hotline.setting('sms.unknown_policy') #>> '{}') = 'resend' AND o.attempts < v_max
                                                 THEN 'pending' ELSE 'unknown' END
                        ELSE CASE WHEN o.attempts >= v_max THEN 'failed' ELSE 'pending' END END,
           sent_at = CASE WHEN r.outcome = 'sent' THEN clock_timestamp() ELSE o.sent_at END,
           provider_message_id = coalesce(r.provider_id, o.provider_message_id),
           segments = coalesce(r.segments, o.segments),
           last_error = CASE WHEN r.outcome = 'sent' THEN NULL
                             WHEN r.outcome = 'transient' AND o.attempts >= v_max THEN 'gave up after ' || o.attempts || ' attempts: ' || coalesce(r.error, '')
                             ELSE r.error END,
           unknown_count = o.unknown_count + CASE WHEN r.outcome = 'unknown' THEN 1 ELSE 0 END,
           next_attempt_at = CASE WHEN r.outcome IN ('transient', 'unknown')
                                  THEN clock_timestamp() + make_interval(secs => coalesce(r.retry_after, least(3600, 5 * 2 ^ least(o.attempts, 12))))
                                  ELSE clock_timestamp() END,
           lease_owner = NULL, lease_expires_at = NULL
      FROM r
     WHERE o.id = r.id
       AND ((o.status = 'sending' AND o.lease_owner = p_owner)
            -- A late "sent" for a message whose lease ran out (unknown, or back to pending for a
            -- resend nobody has claimed yet) still counts: the resend is not needed.
            OR (r.outcome = 'sent' AND (o.status = 'unknown' OR (o.status = 'pending' AND o.lease_owner IS NULL AND o.unknown_count > 0))));
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- Receipts can overtake the results (the provider reports delivery before the whole batch is
    -- recorded): apply those that came for the ids just recorded.
    WITH early AS (
        UPDATE hotline.sms_receipts r SET matched = true
          FROM hotline.sms_outbox o
         WHERE NOT r.matched AND r.provider_message_id = o.provider_message_id AND o.status = 'sent'
           AND o.id IN (SELECT (e->>'id')::bigint FROM jsonb_array_elements(p_results) e WHERE e->>'outcome' = 'sent')
        RETURNING r.provider_message_id, r.status, r.detail, r.received_at
    )
    UPDATE hotline.sms_outbox o
       SET status = CASE e.status WHEN 'delivered' THEN 'delivered' ELSE 'failed' END,
           delivered_at = CASE e.status WHEN 'delivered' THEN e.received_at END,
           last_error = CASE e.status WHEN 'failed' THEN 'receipt: ' || e.detail ELSE o.last_error END
      FROM early e WHERE o.provider_message_id = e.provider_message_id;
    RETURN v_n;
END
$$;

-- An operator's explicit resend of a message whose outcome is unknown (or that failed).
--   HL105 no such message, or not unknown/failed
CREATE FUNCTION hotline.resend_sms(p_id bigint, p_person text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE hotline.sms_outbox SET status = 'pending', next_attempt_at = now(), attempts = 0,
           last_error = format('resent by %s after: %s', p_person, coalesce(last_error, status))
     WHERE id = p_id AND status IN ('unknown', 'failed');
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HL105', MESSAGE = format('message %s is not unknown or failed', p_id);
    END IF;
    PERFORM pg_notify('queue_jobs', 'hotline.sms_outbox');
END
$$;

-- Delivery receipts --------------------------------------------------------------------------------

CREATE TABLE hotline.sms_receipts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_message_id text NOT NULL CHECK (length(provider_message_id) BETWEEN 1 AND 200),
    status              text NOT NULL CHECK (status IN ('delivered', 'failed')),
    detail              text NOT NULL DEFAULT '',
    received_at         timestamptz NOT NULL DEFAULT now(),
    matched             boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE hotline.sms_receipts IS 'Delivery receipts as the gateway reports them (its callback writes here through hotline.receive_sms_receipt); matched when a sent message took the state.';

--   HL106 unknown receipt status or empty provider id
CREATE FUNCTION hotline.receive_sms_receipt(p_provider_message_id text, p_status text, p_detail text DEFAULT '')
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_matched boolean;
BEGIN
    IF coalesce(btrim(p_provider_message_id), '') = '' OR p_status IS NULL OR p_status NOT IN ('delivered', 'failed') THEN
        RAISE EXCEPTION USING ERRCODE = 'HL106', MESSAGE = 'a receipt names the provider''s message id and delivered or failed';
    END IF;
    UPDATE hotline.sms_outbox
       SET status = CASE p_status WHEN 'delivered' THEN 'delivered' ELSE 'failed' END,
           delivered_at = CASE p_status WHEN 'delivered' THEN now() END,
           last_error = CASE p_status WHEN 'failed' THEN 'receipt: ' || left(coalesce(p_detail, ''), 400) ELSE last_error END
     WHERE provider_message_id = p_provider_message_id AND status IN ('sent', 'unknown');
    v_matched := FOUND;
    INSERT INTO hotline.sms_receipts (provider_message_id, status, detail, matched)
    VALUES (p_provider_message_id, p_status, left(coalesce(p_detail, ''), 500), v_matched);
    RETURN v_matched;
END
$$;

-- Messages already queued before this migration have no template row of their own body: give
-- them their purpose and let them be sent as written.
UPDATE hotline.sms_outbox o SET purpose = t.purpose, recipient = t.recipient, segments = hotline.sms_segments(o.body)
  FROM hotline.sms_templates t WHERE t.code = o.template;
