// Package demo generates the demo clinic that `openchart serve --demo`
// loads: Riverside Family Medicine, its three clinicians, and six patients
// with multi-year histories, as FHIR R4 transaction Bundles shaped after US
// Core 6.1.
//
// Bundles(today) lays every history out backwards from today, so the demo
// always looks current: the latest visits are days or weeks old, and the
// next two weeks hold bookable Slots and the patients' upcoming
// Appointments. The output is a function of the clinic's date alone (seeded
// PCG streams, one per patient), and every resource has a stable, readable
// id (Patient/demo-maria-garcia, Observation/demo-maria-garcia-e07-hba1c)
// loaded with PUT, so loading twice does not duplicate anything. Ids do not
// depend on the calendar either (encounters are numbered by the story's
// visits, flu shots by season, and each encounter draws from its own random
// stream), so loading again on a later day updates the same resources.
// Every resource carries meta.tag v3-ActReason HTEST ("test health data")
// and a one-line generated narrative.
//
// # The clinic
//
// Riverside Family Medicine (Riverside, Illinois) has two Locations (Main
// Street and Eastside) and three Practitioners, each with a
// PractitionerRole and a Schedule of 20-minute Slots on open weekdays,
// about a third already taken by patients outside the demo:
//
//   - Dr. Sarah Okafor, MD, family medicine (Main Street).
//   - Dr. James Whitfield, MD, internal medicine (Eastside).
//   - Rosa Delgado, FNP-C, family nurse practitioner (Main Street,
//     mornings): anticoagulation checks, prenatal care, vaccines.
//
// Three payer Organizations back the patients' Coverage: a commercial PPO
// (Riverbend Health Plan), Medicare and Illinois Medicaid.
//
// # The patients
//
//   - Leo Tran, 7, boy; the family speaks Vietnamese (mother Lan Tran is a
//     RelatedPerson and contact). Medicaid. Every well-child visit since 2
//     weeks old with the full childhood immunization series (CVX: hepatitis
//     B at birth, DTaP, IPV, Hib, PCV13, rotavirus, MMR, varicella,
//     hepatitis A) and a flu shot each season; growth charts with BMI
//     percentile. Otitis media at 14 months; a first wheezing episode at
//     3, mild persistent asthma diagnosed at 4 (fluticasone and albuterol
//     with spacer), a flare at 5, six-monthly asthma follow-ups. Demo:
//     pediatric growth, immunization forecasting, guardian access.
//   - Maria Garcia, 45, prefers Spanish. Type 2 diabetes found at an annual
//     exam four years ago, with hypertension and hyperlipidemia. Quarterly
//     HbA1c (8.9% at diagnosis, down below 7%, a rise to about 7.7% a year
//     and a half ago, back under 7%), yearly lipid panel, BMP, CBC and
//     urine albumin/creatinine; metformin ER (dose increased),
//     lisinopril 10 then 20 mg, simvastatin. Weight and blood pressure
//     trend down. Demo: result trending, chronic disease dashboards.
//   - Walter Brooks, 70, Medicare. Chronic systolic heart failure and
//     chronic atrial fibrillation on warfarin, carvedilol, lisinopril,
//     furosemide, spironolactone (added at a heart failure exacerbation a
//     year and a half ago) and simvastatin. INR every 4-8 weeks for three
//     years with a therapeutic range (one 3.8 after antibiotics, one 1.6
//     after missed doses), BNP, BMP with creeping potassium. Demo:
//     drug-drug interaction alerts (prescribe an NSAID or an antibiotic),
//     anticoagulation flowsheet.
//   - Aisha Rahman, 30, speaks Bengali and English; pregnant with her first
//     child, 27 weeks today. Prenatal visits every four weeks from 8 weeks
//     with pregnancy status, gestational age, due date and fetal heart
//     rate; prenatal labs (blood type, antibody screen, hepatitis B, HIV,
//     rubella, CBC), a normal glucose challenge, and iron deficiency anemia
//     of pregnancy at 24 weeks treated with ferrous sulfate. Her 28-week
//     visit is booked. Demo: pregnancy-aware checks, prenatal flowsheet.
//   - Dennis Kowalski, 58, smokes a pack a day (40 pack-years), no
//     insurance. COPD (GOLD 2) diagnosed three years ago after an acute
//     bronchitis, on fluticasone-salmeterol and albuterol; two
//     exacerbations treated with prednisone and azithromycin; codeine
//     intolerance. Smoking status (SNOMED "smokes tobacco daily") at every
//     check-up, polycythemia on CBC, falling SpO2. Demo: tobacco
//     measures, lung cancer screening reminder.
//   - Emily Chen, 25, English and Mandarin. Penicillin allergy with hives,
//     high criticality (AllergyIntolerance, RxNorm 7980): strep pharyngitis
//     treated with azithromycin instead; seasonal allergic rhinitis on
//     cetirizine; an ankle sprain with ibuprofen. Demo: allergy alerts
//     (prescribe amoxicillin).
//
// Each patient has a Patient (MRN, US Core race, ethnicity and birth sex,
// languages), Encounters with clinicians, reasons and diagnoses, Conditions
// in ICD-10-CM and SNOMED CT, MedicationRequests in RxNorm,
// AllergyIntolerance (or "no known allergies"), Immunizations in CVX, vital
// signs at every visit, laboratory Observations with reference ranges and
// interpretation grouped into DiagnosticReports, clinical notes as
// DocumentReferences (text/plain), a CareTeam and upcoming Appointments.
//
// The stories are tables (cast.go, cast_adults.go, cast_more.go); the code
// that turns a story into resources is in chart.go, observe.go and
// records.go; the vocabulary is in codes.go and labs.go.
package demo
