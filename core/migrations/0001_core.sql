-- Core schema: who is who (clinics, members, devices, bindings) and the readings.
-- Owned by: members/devices/bindings -> api.devices + ingest; readings + dead_letters -> ingest;
-- hospitalisations -> api.insurer (upload) and scoring (indicator).
-- Readings tables are time-partitioned by TimescaleDB when present (0001_core.timescale.sql).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE clinics (
    clinic_id   text PRIMARY KEY,
    name        text NOT NULL,
    name_zh     text
);

CREATE TABLE members (
    member_id            text PRIMARY KEY,           -- a pseudonym, never a national ID
    clinic_id            text REFERENCES clinics (clinic_id),
    display_name         text,                       -- shown to the member's own clinic only
    birth_date           date NOT NULL,
    sex                  text NOT NULL CHECK (sex IN ('F', 'M')),
    conditions           text[] NOT NULL DEFAULT '{}'
        CHECK (conditions <@ ARRAY['hypertension', 'diabetes', 'ckd', 'hyperlipidaemia']::text[]),
    consent_withdrawn_at timestamptz,                -- PIPL: data after this instant is not used
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX members_clinic_idx ON members (clinic_id);

CREATE TABLE devices (
    device_id     text PRIMARY KEY,
    device_type   text NOT NULL
        CHECK (device_type IN ('bp_cuff', 'bp_cuffless', 'cgm', 'glucometer', 'activity_tracker')),
    model         text,
    -- ESH 2022: cuffless BP devices are not validated for management; their readings are
    -- stored but excluded from control indicators and pricing.
    validated     boolean NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- A device belongs to one member at a time; reassignment closes one interval and opens
-- another, and a reading is attributed by the interval that contains its measurement time.
CREATE TABLE device_bindings (
    binding_id  bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (device_id),
    member_id   text NOT NULL REFERENCES members (member_id),
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    EXCLUDE USING gist (
        device_id WITH =,
        tstzrange(valid_from, coalesce(valid_to, 'infinity'::timestamptz)) WITH &&
    )
);
CREATE INDEX device_bindings_member_idx ON device_bindings (member_id);

-- Readings. Natural key (device, measurement time) makes MQTT redelivery harmless.
-- utc_offset_min keeps the device's local offset so "morning" means the member's morning.
CREATE TABLE bp_readings (
    device_id      text NOT NULL,
    measured_at    timestamptz NOT NULL,
    member_id      text NOT NULL,
    utc_offset_min smallint NOT NULL,
    systolic       smallint NOT NULL,
    diastolic      smallint NOT NULL,
    pulse          smallint,
    validated      boolean NOT NULL,     -- device validation status at ingest (see devices)
    source         text NOT NULL DEFAULT 'device' CHECK (source IN ('device', 'clinic')),
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, measured_at)
);

CREATE TABLE glucose_readings (
    device_id      text NOT NULL,
    measured_at    timestamptz NOT NULL,
    member_id      text NOT NULL,
    utc_offset_min smallint NOT NULL,
    value          double precision,     -- NULL only when censored
    unit           text NOT NULL CHECK (unit IN ('mg/dL', 'mmol/L')),
    censored       text CHECK (censored IN ('LO', 'HI')),
    method         text NOT NULL CHECK (method IN ('cgm', 'smbg')),
    meal_context   text,
    source         text NOT NULL DEFAULT 'device' CHECK (source IN ('device', 'clinic')),
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((value IS NULL) = (censored IS NOT NULL)),
    PRIMARY KEY (device_id, measured_at)
);

CREATE TABLE activity_readings (
    device_id        text NOT NULL,
    start_at         timestamptz NOT NULL,
    duration_s       integer NOT NULL CHECK (duration_s > 0),
    member_id        text NOT NULL,
    utc_offset_min   smallint NOT NULL,
    steps            integer NOT NULL CHECK (steps >= 0),
    active_minutes   integer NOT NULL DEFAULT 0 CHECK (active_minutes >= 0),  -- moderate or vigorous
    vigorous_minutes integer NOT NULL DEFAULT 0 CHECK (vigorous_minutes >= 0),
    heart_rate       smallint,
    source           text NOT NULL DEFAULT 'device' CHECK (source IN ('device', 'clinic')),
    ingested_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, start_at, duration_s)
);

-- Every rejected message or reading, with the reason; nothing is dropped silently.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    topic         text NOT NULL,
    device_id     text,
    kind          text,
    reason        text NOT NULL,         -- machine-readable code, e.g. 'unknown_unit'
    field         text,                  -- JSON path of the offending field, when there is one
    detail        text,
    payload       bytea NOT NULL,        -- raw bytes, capped (see truncated)
    payload_bytes integer NOT NULL,      -- size before capping
    truncated     boolean NOT NULL
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason);

-- Hospitalisations from the insurer's claims feed.
CREATE TABLE hospitalisations (
    claim_id      text PRIMARY KEY,
    member_id     text NOT NULL REFERENCES members (member_id),
    admitted_on   date NOT NULL,
    discharged_on date,
    amount_yuan   numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount_yuan >= 0),
    diagnosis     text,                  -- ICD-10 code
    received_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (discharged_on IS NULL OR discharged_on >= admitted_on)
);
CREATE INDEX hospitalisations_member_idx ON hospitalisations (member_id, admitted_on);
