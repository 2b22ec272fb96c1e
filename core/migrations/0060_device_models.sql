-- The device-model registry (docs/clinical.md, "CGM": sufficiency). A CGM's active percent
-- and every duration use its model's NOMINAL sampling interval, never the member's own
-- readings' median interval, which let sparse data vouch for itself. `devices.model` is
-- matched case-insensitively; a CGM whose model is not listed counts as a 5-minute sensor
-- (scoring.indicators.rules.CGM_NOMINAL_INTERVAL_S), the conservative choice.
-- `validated`: the model is on a clinical validation list (e.g. STRIDE BP for BP monitors);
-- NULL when the registry does not know. The per-device `devices.validated` flag stays what
-- scoring acts on; this column is what an operator checks when registering a device.
CREATE TABLE device_models (
    model              text PRIMARY KEY CHECK (model = lower(model) AND model <> ''),
    device_type        text NOT NULL
        CHECK (device_type IN ('bp_cuff', 'bp_cuffless', 'cgm', 'glucometer', 'activity_tracker')),
    nominal_interval_s integer CHECK (nominal_interval_s BETWEEN 60 AND 3600),
    validated          boolean,
    source             text NOT NULL,
    CHECK ((device_type = 'cgm') = (nominal_interval_s IS NOT NULL))
);

INSERT INTO device_models (model, device_type, nominal_interval_s, validated, source) VALUES
    ('dexcom g6', 'cgm', 300, NULL, 'Dexcom G6 user guide: a reading every 5 minutes'),
    ('dexcom g7', 'cgm', 300, NULL, 'Dexcom G7 user guide: a reading every 5 minutes'),
    ('freestyle libre 2', 'cgm', 900, NULL,
     'FreeStyle Libre 2 user manual: the sensor stores a glucose reading every 15 minutes'),
    ('smartwatch bp-1', 'bp_cuffless', NULL, false,
     'cuffless: not validated for diagnosis or management (ESH 2022)');
