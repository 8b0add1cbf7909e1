package demo

func mariaGarcia() *person {
	p := &person{
		key: "maria-garcia", given: []string{"Maria", "Elena"}, family: "Garcia", gender: "female", ageDays: years(45) + 140,
		mrn: "RFM-100078", langs: []code{langES, langEN}, race: raceWhite, eth: hispanic,
		addr: address{"27 Burling Road", "Riverside", "IL", "60546"}, phone: "(708) 555-0172", email: "maria.garcia@example.com",
		pcp: "okafor", team: []string{"delgado"},
		coverage: &coverage{payer: "commercial", plan: "Riverbend PPO Gold", group: "Lyons School District 103", memberID: "RBH447120915", sinceAgo: years(6.5)},
		history:  []dx{{key: "htn", ago: years(6.2)}},
		meds:     []med{{key: "lisinopril-10", drug: "lisinopril-10", sig: "Take 1 tablet (10 mg) by mouth once daily.", dose: 1, freq: 1, period: 1, unit: "d", reason: "htn", refills: 3, ago: years(6.2)}},
		smoking:  "never", flu: true,
		curves: map[string]curve{
			"hba1c":   byAgo(0.12, 4.3, 8.9, 3.8, 7.5, 3.2, 6.9, 2.5, 7.0, 1.8, 7.7, 1.3, 7.4, 0.7, 7.0, 0.05, 6.8),
			"glucose": byAgo(5, 4.3, 186, 3.5, 132, 1.8, 148, 0.05, 124),
			"weight":  byAgo(0.5, 4.3, 92.5, 3.0, 88.0, 1.8, 89.5, 0.05, 85.2),
			"height":  flat(158.5, 0.2),
			"sbp":     byAgo(4, 4.3, 146, 2.2, 140, 1.9, 128, 0.05, 126),
			"dbp":     byAgo(3, 4.3, 92, 2.2, 88, 1.9, 80, 0.05, 78),
			"hr":      flat(78, 4),
			"ldl":     byAgo(6, 4.3, 148, 3.8, 102, 0.05, 92),
			"trig":    byAgo(12, 4.3, 230, 3.0, 170, 0.05, 150),
			"hdl":     flat(44, 2),
			"uacr":    byAgo(3, 4.3, 22, 0.05, 18),
		},
	}
	annual := []string{"a1c", "bmp", "lipid", "cbc", "uacr"}
	p.visits = join(
		[]visit{
			at(years(4.3), "checkup", visit{labs: annual, dx: []string{"t2dm", "hld"},
				subj: "Annual exam. Tired, thirsty and urinating more for 2 months. Mother and sister have diabetes. Takes lisinopril daily.",
				plan: "New type 2 diabetes (HbA1c above 6.5%, fasting glucose high) and hyperlipidemia. Start metformin ER 500 mg with the evening meal and simvastatin 20 mg nightly. Diabetes education referral; glucometer. Recheck HbA1c in 3 months.",
				prescribe: []med{
					{key: "metformin-500", drug: "metformin-er-500", sig: "Take 1 tablet (500 mg) by mouth once daily with the evening meal.", dose: 1, freq: 1, period: 1, unit: "d", reason: "t2dm", refills: 3},
					{key: "simvastatin", drug: "simvastatin-20", sig: "Take 1 tablet (20 mg) by mouth at bedtime.", dose: 1, freq: 1, period: 1, unit: "d", reason: "hld", refills: 3},
				}}),
			at(years(3.8), "followup", visit{reason: "t2dm", labs: []string{"a1c"},
				subj:      "Diabetes follow-up. Tolerating metformin, mild loose stools the first week only. Walking 20 minutes most days. Fasting sugars 130-150.",
				plan:      "Type 2 diabetes improving but above goal. Increase metformin ER to 1,000 mg with the evening meal. Continue simvastatin. HbA1c in 3 months.",
				stop:      map[string]string{"metformin-500": "Dose increased to 1,000 mg"},
				prescribe: []med{{key: "metformin-1000", drug: "metformin-er-500", sig: "Take 2 tablets (1,000 mg) by mouth once daily with the evening meal.", dose: 2, freq: 1, period: 1, unit: "d", reason: "t2dm", refills: 3}}}),
			at(years(3.3), "checkup", visit{labs: annual}),
			at(years(2.6), "acute", visit{by: "delgado", reason: "sinusitis", dx: []string{"sinusitis"},
				subj: "Congestion, facial pressure and clear drainage for 5 days. No fever.",
				plan: "Viral sinusitis. Saline rinses, fluids; no antibiotic indicated. Return if symptoms last over 10 days or fever."}),
			at(years(2.3), "checkup", visit{labs: annual}),
			at(years(1.9), "followup", visit{reason: "htn", labs: []string{"bmp"},
				subj:      "Blood pressure follow-up. Home readings 138-146/86-92. No headaches or chest pain.",
				plan:      "Hypertension above goal (<130/80 with diabetes). Increase lisinopril to 20 mg daily. BMP in 2 weeks; recheck BP in 1 month.",
				stop:      map[string]string{"lisinopril-10": "Dose increased to 20 mg"},
				prescribe: []med{{key: "lisinopril-20", drug: "lisinopril-20", sig: "Take 1 tablet (20 mg) by mouth once daily.", dose: 1, freq: 1, period: 1, unit: "d", reason: "htn", refills: 3}}}),
			at(years(1.75), "followup", visit{reason: "t2dm", labs: []string{"a1c"},
				subj: "Diabetes follow-up. Holidays were hard; less walking. No hypoglycemia.",
				plan: "HbA1c up to 7.7%. Rejoined the diabetes class; nutrition visit. Discussed adding a GLP-1 agonist if HbA1c stays above 7% in 3 months. BP now at goal on lisinopril 20 mg."}),
			at(years(1.3), "checkup", visit{labs: annual}),
			at(years(0.3), "checkup", visit{labs: annual}),
			at(27, "followup", visit{reason: "t2dm", labs: []string{"a1c", "bmp"},
				subj: "Diabetes follow-up. Walking 30 minutes daily, lost 4 kg this year. Fasting sugars 110-125.",
				plan: "Type 2 diabetes at goal (HbA1c under 7%). Continue metformin ER 1,000 mg, lisinopril 20 mg, simvastatin 20 mg. Eye exam due; referral sent. Return in 3 months."}),
		},
		every(years(4.05), 20, 91, visit{kind: "followup", reason: "t2dm", labs: []string{"a1c"}}),
	)
	p.next = []appt{{weekday: 6, hour: 9, kind: "followup", reason: "t2dm", by: "delgado", typ: "FOLLOWUP", desc: "Diabetes self-management education follow-up"}}
	return p
}

func walterBrooks() *person {
	p := &person{
		key: "walter-brooks", given: []string{"Walter", "James"}, family: "Brooks", gender: "male", ageDays: years(70) + 200,
		mrn: "RFM-100012", langs: []code{langEN}, race: raceBlack, eth: nonHisp,
		addr: address{"9 Longcommon Road", "Riverside", "IL", "60546"}, phone: "(708) 555-0129",
		pcp: "whitfield", team: []string{"delgado"},
		coverage: &coverage{payer: "medicare", plan: "Medicare Part A and B", group: "Original Medicare", memberID: "1EG4TE5MK73", sinceAgo: years(5.5)},
		history:  []dx{{key: "htn", ago: years(18)}, {key: "hld", ago: years(12)}, {key: "afib", ago: years(6.5)}, {key: "chf", ago: years(4.8)}},
		meds: []med{
			{key: "simvastatin", drug: "simvastatin-20", sig: "Take 1 tablet (20 mg) by mouth at bedtime.", dose: 1, freq: 1, period: 1, unit: "d", reason: "hld", refills: 3, ago: years(12)},
			{key: "warfarin", drug: "warfarin-5", sig: "Take 1 tablet (5 mg) by mouth every evening, or as directed by the anticoagulation clinic.", dose: 1, freq: 1, period: 1, unit: "d", reason: "afib", refills: 5, ago: years(6.4)},
			{key: "carvedilol", drug: "carvedilol-25", sig: "Take 1 tablet (25 mg) by mouth twice daily with food.", dose: 1, freq: 2, period: 1, unit: "d", reason: "chf", refills: 3, ago: years(4.7)},
			{key: "lisinopril", drug: "lisinopril-10", sig: "Take 1 tablet (10 mg) by mouth once daily.", dose: 1, freq: 1, period: 1, unit: "d", reason: "chf", refills: 3, ago: years(4.7)},
			{key: "furosemide", drug: "furosemide-40", sig: "Take 1 tablet (40 mg) by mouth every morning. Weigh yourself daily.", dose: 1, freq: 1, period: 1, unit: "d", reason: "chf", refills: 3, ago: years(4.7)},
		},
		smoking: "former", flu: true, warfarin: true,
		curves: map[string]curve{
			"inr":        flat(2.5, 0.25),
			"weight":     byAgo(0.6, 3.0, 94.0, 1.62, 95.5, 1.6, 98.6, 1.55, 94.5, 0.05, 92.8),
			"height":     flat(180.3, 0.2),
			"sbp":        flat(124, 6),
			"dbp":        flat(74, 4),
			"hr":         flat(68, 5),
			"spo2":       flat(96, 0.7),
			"bnp":        byAgo(20, 3.0, 240, 1.62, 300, 1.6, 540, 1.3, 260, 0.05, 210),
			"creatinine": byAgo(0.05, 3.0, 1.15, 0.05, 1.32),
			"potassium":  byAgo(0.15, 3.0, 4.3, 1.5, 4.4, 1.3, 4.8, 0.05, 4.9),
			"hgb":        flat(13.6, 0.3),
			"ldl":        flat(82, 6),
		},
	}
	inr := every(years(3), 1, 35, visit{kind: "followup", reason: "anticoag", by: "delgado", labs: []string{"pt"}})
	// Two planned INR visits with results out of range: they keep their
	// dates, and routine visits nearby merge into them.
	inr[9].routine, inr[21].routine = false, false
	inr[9].set = map[string]float64{"inr": 3.8}
	inr[9].subj = "INR check. Finished a course of antibiotics from urgent care 5 days ago. No bleeding, no dark stools."
	inr[9].plan = "INR 3.8, supratherapeutic after antibiotic. Hold tonight's warfarin, then resume 5 mg daily. Recheck INR in 1 week. Bleeding precautions reviewed."
	inr[10].set = map[string]float64{"inr": 2.6}
	inr[21].set = map[string]float64{"inr": 1.6}
	inr[21].subj = "INR check. Missed two evening doses while visiting family."
	inr[21].plan = "INR 1.6, subtherapeutic from missed doses. Take 7.5 mg tonight, then 5 mg daily. Pill organizer given. Recheck in 1 week."
	p.visits = join(
		[]visit{
			at(years(2.4), "checkup", visit{labs: []string{"bmp", "cbc", "lipid", "bnp", "tsh"}, vaccines: []string{"pcv20", "zoster"},
				subj: "Annual wellness visit. Walks 2 blocks before resting, stable. Sleeps on 2 pillows. No bleeding on warfarin. Quit smoking 20 years ago.",
				plan: "Chronic systolic heart failure (EF 35%) NYHA II, stable. Atrial fibrillation rate controlled on carvedilol, anticoagulated with warfarin (INR goal 2-3). Continue current regimen. PCV20 and first zoster dose today."}),
			at(years(2.2), "followup", visit{reason: "chf", vaccines: []string{"zoster"}}),
			at(years(1.6), "acute", visit{reason: "chf", labs: []string{"bmp", "bnp", "pt"}, set: map[string]float64{"spo2": 93, "hr": 88, "sbp": 138},
				subj:      "Weight up 3 kg in a week, ankles swollen, short of breath climbing stairs. Ate out often at a family reunion.",
				plan:      "Heart failure exacerbation from dietary sodium, no chest pain; mild crackles at bases. Add spironolactone 25 mg daily; furosemide 40 mg twice daily for 3 days, then daily. Low-sodium diet reviewed. Daily weights. Recheck in 1 week with BMP.",
				prescribe: []med{{key: "spironolactone", drug: "spironolactone", sig: "Take 1 tablet (25 mg) by mouth once daily.", dose: 1, freq: 1, period: 1, unit: "d", reason: "chf", refills: 3}}}),
			at(years(1.6)-7, "followup", visit{reason: "chf", labs: []string{"bmp"},
				subj: "Heart failure recheck. Down 4 kg, ankles better, breathing back to baseline.",
				plan: "Exacerbation resolved; back at dry weight. Continue spironolactone; potassium ok. Follow up as scheduled."}),
			at(years(1.4), "checkup", visit{labs: []string{"bmp", "cbc", "lipid", "bnp"}, vaccines: []string{"tdap"}}),
			at(years(0.4), "checkup", visit{labs: []string{"bmp", "cbc", "lipid", "bnp"},
				subj: "Annual wellness visit. No hospital stays this year. Weighs daily, walks 15 minutes twice a day.",
				plan: "Heart failure stable on carvedilol, lisinopril, furosemide and spironolactone. AFib rate controlled; warfarin with INR mostly in range. Potassium high-normal: recheck in 3 months. Continue."}),
		},
		every(years(2.9), 30, 91, visit{kind: "followup", reason: "chf", labs: []string{"bmp"}}),
		inr,
	)
	p.next = []appt{
		{weekday: 2, hour: 9, kind: "followup", reason: "anticoag", by: "delgado", typ: "FOLLOWUP", desc: "INR check"},
		{weekday: 9, hour: 10, kind: "followup", reason: "chf", typ: "FOLLOWUP", desc: "Heart failure follow-up"},
	}
	return p
}
