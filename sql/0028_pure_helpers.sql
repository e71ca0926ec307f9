-- Pure helpers run as their caller.
--
-- hotline.secure_functions() (sql/0016) makes every function of the two schemas SECURITY
-- DEFINER with a fixed search_path. For the IMMUTABLE ones -- functions of their arguments that
-- read no table (queue.wake_channel, hotline.event_hash, normalize_phone, sms_segments,
-- is_dispatchable …) -- that protects nothing, and it costs every call a switch of user and
-- search_path and back (about 2 µs a call in a plain SELECT), and it keeps PostgreSQL from
-- inlining the SQL ones: queue.wake_channel, called three times per ticket from PL/pgSQL, was
-- planned anew on every call, 22 µs a call (the benchmark's replay of the SQL contract). Now
-- they run with their caller's rights and search_path: inside the definer functions that call
-- them that is still the owner and its fixed path; a role calling one directly gets a result
-- computed from its own arguments and nothing else. They stay closed to PUBLIC.
-- secure_functions() treats IMMUTABLE functions so from now on (later migrations call it again).

CREATE OR REPLACE FUNCTION hotline.secure_functions()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f   record;
    v_n integer := 0;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS signature, p.provolatile
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname IN ('hotline', 'queue') AND p.prokind = 'f' LOOP
        IF f.provolatile = 'i' THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY INVOKER RESET ALL', f.signature);
        ELSE
            EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = hotline, queue, pg_catalog, pg_temp', f.signature);
        END IF;
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.signature);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION hotline.secure_functions() FROM PUBLIC;

-- Written so PostgreSQL can inline it: a single expression, not STRICT (a NULL name still gives
-- NULL), and every name qualified, since it now resolves with its caller's search_path.
CREATE OR REPLACE FUNCTION queue.wake_channel(p_target text)
RETURNS text
LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
RETURN 'queue_jobs.' OPERATOR(pg_catalog.||)
       CASE WHEN pg_catalog.octet_length(p_target) <= 52 THEN p_target ELSE pg_catalog.md5(p_target) END;

SELECT hotline.secure_functions();
