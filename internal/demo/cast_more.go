package demo

func aishaRahman() *person {
	lmp := 27*7 + 2 // 27 weeks 2 days pregnant today
	ga := func(weeks, days int) int { return lmp - weeks*7 - days }
	p := &person{
		key: "aisha-rahman", given: []string{"Aisha"}, family: "Rahman", gender: "female", ageDays: years(30) + 95,
		mrn: "RFM-100154", langs: []code{langBN, langEN}, race: raceAsian, eth: nonHisp,
		addr: address{"156 Fairbank Road", "Riverside", "IL", "60546"}, phone: "(708) 555-0164", email: "aisha.rahman@example.com",
		pcp: "delgado", team: []string{"okafor"},
		coverage: &coverage{payer: "commercial", plan: "Riverbend PPO Silver", group: "Loyola Medical Center Employees", memberID: "RBH552904117", sinceAgo: years(3)},
		smoking:  "never", flu: true, lmpAgo: lmp, bloodType: [2]string{"O", "Rh positive"},
		curves: map[string]curve{
			"weight": {points: []point{{years(2.2), 60.2}, {lmp, 61.0}, {ga(12, 0), 61.6}, {1, 68.4}}, sd: 0.3},
			"height": flat(163.2, 0.2),
			"sbp":    flat(110, 5),
			"dbp":    flat(68, 4),
			"hr":     curve{points: []point{{lmp, 74}, {1, 86}}, sd: 4},
			"hgb":    curve{points: []point{{years(2.2), 13.1}, {lmp, 12.8}, {ga(20, 0), 11.4}, {ga(24, 0), 10.6}, {1, 10.9}}, sd: 0.1},
			"mcv":    curve{points: []point{{lmp, 85}, {ga(24, 0), 79}}, sd: 0.8},
			"gct":    flat(121, 6),
		},
	}
	p.visits = []visit{
		at(years(2.2), "checkup", visit{labs: []string{"cbc"},
			subj: "New patient, moved from Chicago. Well. Married, works as a pharmacist. Plans pregnancy in the next few years.",
			plan: "Healthy adult. Start folic acid 400 mcg daily (over the counter) before conception. Cervical screening up to date. Return yearly."}),
		at(years(1.6), "acute", visit{reason: "sinusitis", dx: []string{"sinusitis"},
			subj: "Nasal congestion and sinus pressure for 6 days, no fever.",
			plan: "Viral sinusitis. Saline rinses and rest; no antibiotic. Return if over 10 days or fever."}),
		at(years(1.2), "checkup", visit{}),
		at(ga(8, 1), "prenatal1", visit{labs: []string{"hcg", "cbc", "prenatal", "id-scr", "hiv", "rubella"}, dx: []string{"pregnancy"}, set: map[string]float64{"hcg": 1},
			subj: "Positive home pregnancy test. LMP certain, regular cycles. Mild nausea, no bleeding. First pregnancy. Taking folic acid.",
			plan: "Intrauterine pregnancy at 8 weeks by LMP; dating ultrasound ordered. Prenatal labs drawn. Prenatal vitamin daily, nausea measures. Genetic screening options discussed. Return in 4 weeks."}),
		at(ga(12, 2), "prenatal", visit{subj: "Nausea easing. Dating ultrasound agreed with LMP.", plan: "Normal pregnancy at 12 weeks, fetal heart tones present. Return in 4 weeks."}),
		at(ga(16, 1), "prenatal", visit{}),
		at(ga(20, 3), "prenatal", visit{subj: "Feeling movement. Anatomy ultrasound done last week: normal.", plan: "Normal pregnancy at 20 weeks. Flu vaccine today. Glucose challenge and CBC at the next visit."}),
		at(ga(24, 2), "prenatal", visit{labs: []string{"gct", "cbc"}, dx: []string{"anemia-preg"},
			subj:      "Tired in the afternoons. Good fetal movement. No contractions, bleeding or headaches.",
			plan:      "Pregnancy at 24 weeks, growth on track. Glucose challenge normal. Hemoglobin low with low MCV: iron deficiency anemia of pregnancy; start ferrous sulfate daily with vitamin C, recheck CBC at 28 weeks. Tdap at 28 weeks.",
			prescribe: []med{{key: "ferrous-sulfate", drug: "ferrous-sulfate", sig: "Take 1 tablet (325 mg) by mouth once daily with orange juice. Do not take with prenatal vitamin or dairy.", dose: 1, freq: 1, period: 1, unit: "d", reason: "anemia-preg", refills: 3}}}),
	}
	p.next = []appt{{weekday: 4, hour: 10, kind: "prenatal", typ: "ROUTINE", desc: "28-week prenatal visit: Tdap, repeat CBC"}}
	return p
}

func dennisKowalski() *person {
	p := &person{
		key: "dennis-kowalski", given: []string{"Dennis", "Paul"}, family: "Kowalski", gender: "male", ageDays: years(58) + 30,
		mrn: "RFM-100096", langs: []code{langEN}, race: raceWhite, eth: nonHisp,
		addr: address{"3340 Maple Avenue", "Brookfield", "IL", "60513"}, phone: "(708) 555-0196",
		pcp: "whitfield", team: []string{"delgado"},
		history: []dx{{key: "nicotine", ago: years(20)}, {key: "hld", ago: years(5)}},
		meds:    []med{{key: "simvastatin", drug: "simvastatin-20", sig: "Take 1 tablet (20 mg) by mouth at bedtime.", dose: 1, freq: 1, period: 1, unit: "d", reason: "hld", refills: 3, ago: years(5)}},
		allergies: []allergy{{
			substance: code{sysRxNorm, "2670", "codeine"}, text: "Codeine", kind: "intolerance", category: "medication", critical: "low",
			reaction: code{sysSNOMED, "422587007", "Nausea"}, reactText: "Nausea and vomiting", severity: "mild", onsetAgo: years(15),
		}},
		smoking: "daily", flu: true,
		curves: map[string]curve{
			"weight": byAgo(0.5, 3.4, 88.0, 0.05, 84.5),
			"height": flat(177.8, 0.2),
			"spo2":   byAgo(0.6, 3.4, 95, 0.05, 93),
			"sbp":    flat(132, 5),
			"dbp":    flat(82, 3),
			"hr":     flat(84, 4),
			"rr":     flat(18, 1),
			"hgb":    byAgo(0.2, 3.4, 16.5, 0.05, 17.1),
			"ldl":    byAgo(6, 3.0, 142, 2.5, 108, 0.05, 101),
			"trig":   flat(160, 15),
			"hdl":    flat(38, 2),
		},
	}
	exacerbation := func(ago int, subj string) visit {
		return at(ago, "acute", visit{reason: "copd", dx: []string{"copd-exac"}, set: map[string]float64{"spo2": 90, "hr": 98, "rr": 22, "temp": 37.4},
			subj: subj,
			plan: "COPD exacerbation, no pneumonia on exam. Prednisone 40 mg daily for 5 days and azithromycin for 5 days; albuterol every 4 hours as needed. Return or go to the ED if breathing worsens. Follow up in 2 weeks.",
			prescribe: []med{
				{key: "prednisone", drug: "prednisone-5", sig: "Take 8 tablets (40 mg) by mouth once daily with breakfast for 5 days.", dose: 8, freq: 1, period: 1, unit: "d", days: 5, reason: "copd-exac"},
				{key: "azithromycin", drug: "azithromycin-250", sig: "Take 2 tablets (500 mg) on day 1, then 1 tablet (250 mg) once daily on days 2 to 5.", dose: 1, freq: 1, period: 1, unit: "d", days: 5, reason: "copd-exac"},
			}})
	}
	p.visits = join(
		[]visit{
			at(years(3.4), "acute", visit{reason: "bronchitis", dx: []string{"bronchitis"},
				subj: "Cough with white sputum for 3 weeks, short of breath on stairs for a year. Smokes 1 pack a day for 38 years.",
				plan: "Acute bronchitis on probable COPD. Supportive care. Spirometry ordered. Smoking cessation strongly advised; quitline number given."}),
			at(years(3.2), "followup", visit{reason: "copd", dx: []string{"copd"},
				subj: "Spirometry review. Cough better, still short of breath on exertion. Not ready to quit; cut down to 15 cigarettes a day.",
				plan: "COPD, GOLD 2 (post-bronchodilator FEV1/FVC 0.62, FEV1 68% predicted). Start fluticasone-salmeterol 250/50 twice daily and albuterol as needed. 5 minutes of cessation counseling; offered nicotine replacement.",
				prescribe: []med{
					{key: "advair", drug: "advair-250", sig: "Inhale 1 puff by mouth twice daily. Rinse mouth after use.", dose: 1, freq: 2, period: 1, unit: "d", reason: "copd", refills: 5},
					{key: "albuterol", drug: "albuterol-mdi", sig: "Inhale 2 puffs by mouth every 4 to 6 hours as needed for shortness of breath.", dose: 2, freq: 1, period: 4, unit: "h", prn: true, reason: "copd", refills: 3},
				}}),
			at(years(2.5), "checkup", visit{labs: []string{"lipid", "cbc", "bmp"}, vaccines: []string{"pcv20"}}),
			exacerbation(years(1.7), "Worse cough with yellow sputum and more short of breath for 4 days after a cold. Using albuterol 6 times a day."),
			at(years(1.7)-14, "followup", visit{reason: "copd", subj: "COPD exacerbation follow-up: back to baseline.", plan: "Exacerbation resolved. Inhaler technique checked. Still smoking 1 pack a day; discussed varenicline."}),
			at(years(1.5), "checkup", visit{labs: []string{"lipid", "cbc", "bmp"}, vaccines: []string{"tdap"}}),
			at(years(0.5), "checkup", visit{labs: []string{"lipid", "cbc", "bmp"},
				subj: "Annual exam. Breathing stable between colds. Smoking 20 cigarettes a day, 40 pack-years.",
				plan: "COPD stable on fluticasone-salmeterol. Tobacco use: advised to quit, offered varenicline and the quitline. Eligible for lung cancer screening (age 50-80, 40 pack-years): low-dose CT ordered. Hyperlipidemia at goal on simvastatin."}),
			exacerbation(120, "Third day of fever, productive cough and wheeze. Used albuterol every 3 hours last night."),
		},
		every(years(3.0), 30, 182, visit{kind: "followup", reason: "copd"}),
	)
	p.next = []appt{{weekday: 3, hour: 14, kind: "followup", reason: "copd", typ: "FOLLOWUP", desc: "COPD follow-up; review low-dose CT"}}
	return p
}

func emilyChen() *person {
	p := &person{
		key: "emily-chen", given: []string{"Emily", "Mei"}, family: "Chen", gender: "female", ageDays: years(25) + 250,
		mrn: "RFM-100187", langs: []code{langEN, langZH}, race: raceAsian, eth: nonHisp,
		addr: address{"61 Scottswood Road", "Riverside", "IL", "60546"}, phone: "(708) 555-0147", email: "emily.chen@example.com",
		pcp: "delgado", team: []string{"okafor"},
		coverage: &coverage{payer: "commercial", plan: "Riverbend PPO Silver", group: "Brookfield Zoo Staff", memberID: "RBH618330524", sinceAgo: years(2.5)},
		history:  []dx{{key: "rhinitis", ago: years(6)}},
		allergies: []allergy{{
			substance: code{sysRxNorm, "7980", "Penicillin G"}, text: "Penicillin", kind: "allergy", category: "medication", critical: "high",
			reaction: code{sysSNOMED, "247472004", "Wheal"}, reactText: "Hives over the whole body within an hour of amoxicillin", severity: "moderate", onsetAgo: years(13),
		}},
		smoking: "never", flu: true,
		curves: map[string]curve{
			"weight": flat(56.5, 0.4),
			"height": flat(165.1, 0.2),
			"sbp":    flat(108, 5),
			"dbp":    flat(68, 4),
			"hr":     flat(70, 4),
		},
	}
	p.visits = []visit{
		at(years(2.4), "checkup", visit{labs: []string{"cbc"},
			subj: "New patient after starting a job at the zoo. Penicillin allergy: hives all over within an hour of amoxicillin at age 12. Spring hay fever.",
			plan: "Healthy adult. Penicillin allergy (hives) recorded, high criticality; offered allergy referral for penicillin testing. Seasonal allergic rhinitis: over-the-counter antihistamine as needed."}),
		at(years(1.9), "acute", visit{reason: "strep", labs: []string{"strep"}, dx: []string{"strep"}, set: map[string]float64{"rapidst": 1, "temp": 38.6, "hr": 96},
			subj:      "Sore throat and fever for 2 days, no cough. Coworker had strep.",
			plan:      "Strep pharyngitis, rapid antigen positive. Penicillin allergy with hives: avoid penicillins; azithromycin for 5 days. Return if unable to swallow or no better in 48 hours.",
			prescribe: []med{{key: "azithromycin", drug: "azithromycin-250", sig: "Take 2 tablets (500 mg) on day 1, then 1 tablet (250 mg) once daily on days 2 to 5.", dose: 1, freq: 1, period: 1, unit: "d", days: 5, reason: "strep"}}}),
		at(years(1.4), "checkup", visit{}),
		at(years(0.9), "acute", visit{reason: "rhinitis",
			subj:      "Sneezing, itchy eyes and runny nose every spring, worse this year.",
			plan:      "Seasonal allergic rhinitis. Cetirizine 10 mg daily in season; saline rinses.",
			prescribe: []med{{key: "cetirizine", drug: "cetirizine-5", sig: "Take 2 tablets (10 mg) by mouth once daily as needed during allergy season.", dose: 2, freq: 1, period: 1, unit: "d", prn: true, reason: "rhinitis", refills: 2}}}),
		at(240, "acute", visit{reason: "ankle-sprain", dx: []string{"ankle-sprain"},
			subj:      "Rolled the right ankle stepping off a curb yesterday. Can walk 4 steps with pain. Swelling on the outside.",
			plan:      "Right lateral ankle sprain, grade 1; Ottawa rules negative, no X-ray. Rest, ice, compression, elevation; ibuprofen with food for up to 7 days. Ankle exercises handout.",
			prescribe: []med{{key: "ibuprofen", drug: "ibuprofen-600", sig: "Take 1 tablet (600 mg) by mouth every 8 hours with food as needed for pain, up to 7 days.", dose: 1, freq: 1, period: 8, unit: "h", prn: true, days: 7, reason: "ankle-sprain"}}}),
		at(years(0.4), "checkup", visit{}),
	}
	p.next = []appt{{weekday: 7, hour: 10, kind: "checkup", typ: "CHECKUP", desc: "Annual physical"}}
	return p
}
