-- One Postgres role per service, with rights on its own schema only, and one owner role that
-- owns the six schemas and runs the migrations. Run by a superuser in the application's
-- database with psql (deploy/postgres/roles.sh), giving the variables:
--   prefix (roles are <prefix>_owner, <prefix>_email, ...), owner_password, and
--   <service>_password for email, social, chat, phone, routing and metrics.
-- Idempotent: a second run changes passwords and hands over what an older setup left behind
-- (schemas and their objects owned by another role) to the owner.
\set ON_ERROR_STOP on
\set owner :prefix '_owner'

CREATE TEMP TABLE service_role (service text PRIMARY KEY, role text NOT NULL, password text NOT NULL);
INSERT INTO service_role VALUES
    ('email', :'prefix' || '_email', :'email_password'),
    ('social', :'prefix' || '_social', :'social_password'),
    ('chat', :'prefix' || '_chat', :'chat_password'),
    ('phone', :'prefix' || '_phone', :'phone_password'),
    ('routing', :'prefix' || '_routing', :'routing_password'),
    ('metrics', :'prefix' || '_metrics', :'metrics_password');

-- The roles: log in, nothing more (no superuser, no role or database creation).
SELECT format('CREATE ROLE %I', role)
  FROM (SELECT :'owner' AS role UNION ALL SELECT role FROM service_role) AS wanted
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted.role) \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT '
              'NOREPLICATION NOBYPASSRLS PASSWORD %L', role, password)
  FROM (SELECT :'owner' AS role, :'owner_password' AS password
        UNION ALL SELECT role, password FROM service_role) AS wanted \gexec

-- The database: nobody else connects; the owner may create the schemas (the migrations'
-- CREATE SCHEMA IF NOT EXISTS asks for that right even when the schema exists).
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), :'owner') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role)
  FROM service_role \gexec
REVOKE ALL ON SCHEMA public FROM PUBLIC;

-- The schemas, owned by the owner, and what an older setup created in them handed over.
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', service, :'owner')
  FROM service_role \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', service, :'owner') FROM service_role \gexec
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                             WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              n.nspname, c.relname, :'owner')
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname IN (SELECT service FROM service_role)
   AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND c.relispartition IS NOT TRUE
   -- A sequence that belongs to a column follows its table.
   AND NOT EXISTS (SELECT FROM pg_depend AS d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('a', 'i'))
   AND pg_get_userbyid(c.relowner) <> :'owner' \gexec
SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, :'owner')
  FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
 WHERE n.nspname IN (SELECT service FROM service_role) AND t.typtype IN ('e', 'd')
   AND pg_get_userbyid(t.typowner) <> :'owner' \gexec
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'owner')
  FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
 WHERE n.nspname IN (SELECT service FROM service_role)
   AND pg_get_userbyid(p.proowner) <> :'owner' \gexec

-- Each service: its schema's rows (TRUNCATE too: metrics rebuilds its roll-ups), never its
-- tables' shape and never another schema. Default privileges cover what later migrations
-- create.
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', service, role) FROM service_role \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA %I TO %I',
              service, role)
  FROM service_role \gexec
SELECT format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', service, role)
  FROM service_role \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I '
              'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO %I',
              :'owner', service, role)
  FROM service_role \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I '
              'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I', :'owner', service, role)
  FROM service_role \gexec
