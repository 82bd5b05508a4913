-- 01-databases.sql - run once by the postgres:15 image on an empty data volume
-- (docker-entrypoint-initdb.d), as POSTGRES_USER: one database per service, each owned
-- by that user. The services create their own tables (migrations compiled into the
-- binaries run at start).
CREATE DATABASE tenant;
CREATE DATABASE notification;
