-- Measurements a clinic or an insurer uploads for members without a device (the majority in
-- community clinics): laboratory results and medication dispensing. Scoring reads them for
-- HbA1c and LDL-C control and for medication adherence (proportion of days covered);
-- docs/clinical.md, "Clinic measurements". Office BP needs no table of its own: it is a
-- `bp_readings` row with source = 'clinic'.
CREATE TABLE lab_results (
    member_id    text NOT NULL REFERENCES members (member_id),
    -- LOINC: 4548-4 HbA1c (% of total Hb), 13457-7 LDL-C (calculated), 18262-6 LDL-C (direct)
    loinc        text NOT NULL CHECK (loinc IN ('4548-4', '13457-7', '18262-6')),
    value        double precision NOT NULL CHECK (value > 0),
    unit         text NOT NULL CHECK (unit IN ('%', 'mmol/L', 'mg/dL')),
    taken_at     timestamptz NOT NULL,
    clinic_id    text,
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((loinc = '4548-4') = (unit = '%')),
    PRIMARY KEY (member_id, loinc, taken_at)
);

CREATE TABLE dispensings (
    member_id    text NOT NULL REFERENCES members (member_id),
    drug_class   text NOT NULL
        CHECK (drug_class IN ('antihypertensive', 'glucose_lowering', 'statin')),
    dispensed_on date NOT NULL,
    days_supply  integer NOT NULL CHECK (days_supply BETWEEN 1 AND 365),
    clinic_id    text,
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, drug_class, dispensed_on)
);
