-- Device ownership (docs/threat-model.md, finding 1): a device belongs to one clinic, the
-- one that registered it, and only that clinic binds it to patients. A device moves to
-- another clinic only by an explicit transfer: offered by the owning clinic (or an admin),
-- accepted by the receiving clinic; both steps are audited (api/devices/service.py).
-- NULL: registered by an admin or `wellrate provision-device` with no clinic; only an
-- admin binds such a device (or gives it to a clinic through a transfer).
ALTER TABLE devices ADD COLUMN clinic_id text REFERENCES clinics (clinic_id);
CREATE INDEX devices_clinic_idx ON devices (clinic_id);

-- Existing devices: the clinic of the member their open binding (else their latest one)
-- belongs to, the only owner the old schema implies.
UPDATE devices d SET clinic_id = (
    SELECT m.clinic_id FROM device_bindings b JOIN members m USING (member_id)
     WHERE b.device_id = d.device_id
     ORDER BY b.valid_to IS NULL DESC, b.valid_from DESC LIMIT 1);

-- One pending offer per device at a time; an accepted or cancelled one is history.
CREATE TABLE device_transfers (
    transfer_id   bigserial PRIMARY KEY,
    device_id     text NOT NULL REFERENCES devices (device_id),
    from_clinic   text REFERENCES clinics (clinic_id),
    to_clinic     text NOT NULL REFERENCES clinics (clinic_id),
    offered_by    bigint NOT NULL,                   -- api_principals.principal_id
    offered_at    timestamptz NOT NULL DEFAULT now(),
    accepted_by   bigint,
    accepted_at   timestamptz,
    cancelled_at  timestamptz,
    CHECK (from_clinic IS DISTINCT FROM to_clinic),
    CHECK (accepted_at IS NULL OR cancelled_at IS NULL)
);
CREATE UNIQUE INDEX device_transfers_pending_idx ON device_transfers (device_id)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;

-- Roles (migration 0055): the API role gets new tables through the owner's default
-- privileges; reporting is granted explicitly, when the roles already exist (on a new
-- database 0055 runs after this and grants every table then).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wellrate_reporting') THEN
        GRANT SELECT ON device_transfers TO wellrate_reporting;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wellrate_api') THEN
        GRANT SELECT, INSERT, UPDATE ON device_transfers TO wellrate_api;
        GRANT USAGE, SELECT ON SEQUENCE device_transfers_transfer_id_seq TO wellrate_api;
    END IF;
END $$;
