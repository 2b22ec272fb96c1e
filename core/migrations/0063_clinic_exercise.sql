-- Exercise as the clinic's follow-up records it (the national basic public health service
-- follow-up form for hypertension and type 2 diabetes: times a week x minutes a time),
-- uploaded as LOINC 82290-8 "Frequency of moderate to vigorous aerobic physical activity"
-- in minutes a week (HL7 Physical Activity IG). It is the no-device member's way to the
-- activity component; 0 minutes is a valid answer.
ALTER TABLE lab_results
    DROP CONSTRAINT IF EXISTS lab_results_loinc_check,
    DROP CONSTRAINT IF EXISTS lab_results_unit_check,
    DROP CONSTRAINT IF EXISTS lab_results_value_check,
    ADD CONSTRAINT lab_results_loinc_check
        CHECK (loinc IN ('4548-4', '13457-7', '18262-6', '82290-8')),
    ADD CONSTRAINT lab_results_unit_check CHECK (unit IN ('%', 'mmol/L', 'mg/dL', 'min/wk')),
    ADD CONSTRAINT lab_results_value_check
        CHECK (value > 0 OR (loinc = '82290-8' AND value = 0)),
    ADD CONSTRAINT lab_results_exercise_unit_check
        CHECK ((loinc = '82290-8') = (unit = 'min/wk'));
