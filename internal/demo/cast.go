package demo

// The cast: six patients of Riverside Family Medicine. See doc.go for their
// stories in prose.

var (
	langEN = code{sysBCP47, "en", "English"}
	langES = code{sysBCP47, "es", "Spanish"}
	langVI = code{sysBCP47, "vi", "Vietnamese"}
	langBN = code{sysBCP47, "bn", "Bengali"}
	langZH = code{sysBCP47, "zh", "Chinese"}

	raceWhite = code{sysOMB, "2106-3", "White"}
	raceBlack = code{sysOMB, "2054-5", "Black or African American"}
	raceAsian = code{sysOMB, "2028-9", "Asian"}
	hispanic  = code{sysOMB, "2135-2", "Hispanic or Latino"}
	nonHisp   = code{sysOMB, "2186-5", "Not Hispanic or Latino"}
)

// cast returns fresh stories (a chart may edit its copy).
func cast() []*person {
	return []*person{leoTran(), mariaGarcia(), walterBrooks(), aishaRahman(), dennisKowalski(), emilyChen()}
}

const month = 30.44 // days

// byAge turns (age in months, value) pairs into a curve for someone ageDays
// old today.
func byAge(ageDays int, sd float64, pairs ...float64) curve {
	cv := curve{sd: sd}
	for i := 0; i+1 < len(pairs); i += 2 {
		cv.points = append(cv.points, point{ageDays - int(pairs[i]*month), pairs[i+1]})
	}
	return cv
}

// byAgo turns (years ago, value) pairs into a curve.
func byAgo(sd float64, pairs ...float64) curve {
	cv := curve{sd: sd}
	for i := 0; i+1 < len(pairs); i += 2 {
		cv.points = append(cv.points, point{years(pairs[i]), pairs[i+1]})
	}
	return cv
}

func leoTran() *person {
	age := years(7) + 64
	aged := func(months float64) int { return age - int(months*month) }
	well := func(months float64, vac ...string) visit {
		return at(aged(months), "wellchild", visit{vaccines: vac})
	}
	p := &person{
		key: "leo-tran", given: []string{"Leo", "Minh"}, family: "Tran", gender: "male", ageDays: age,
		mrn: "RFM-100231", langs: []code{langVI, langEN}, race: raceAsian, eth: nonHisp,
		addr: address{"418 Oak Park Avenue", "Riverside", "IL", "60546"}, phone: "(708) 555-0311",
		pcp: "okafor", team: []string{"delgado"},
		coverage: &coverage{payer: "medicaid", plan: "All Kids", group: "IL-ALLKIDS", memberID: "IL5538201977", sinceAgo: age - 3},
		guardian: &guardian{key: "mother", given: "Lan", family: "Tran", gender: "female", phone: "(708) 555-0311", relation: code{tho + "v3-RoleCode", "MTH", "mother"}},
		atBirth:  []string{"hepb-ped"},
		flu:      true,
		curves: map[string]curve{
			"weight": byAge(age, 0.15, 0, 3.4, 0.5, 3.8, 2, 5.6, 4, 7.0, 6, 7.9, 9, 8.9, 12, 9.6, 15, 10.3, 18, 10.9, 24, 12.2, 30, 13.3, 36, 14.3, 48, 16.3, 60, 18.4, 72, 20.6, 84, 23.0, 90, 23.8),
			"height": byAge(age, 0.2, 0, 50, 0.5, 52.5, 2, 58.4, 4, 63.9, 6, 67.6, 9, 72.0, 12, 75.7, 15, 79.1, 18, 82.3, 24, 86.5, 30, 91.2, 36, 95.5, 48, 102.8, 60, 109.6, 72, 116.0, 84, 121.9, 90, 124.6),
			"hr":     byAge(age, 4, 0, 140, 6, 130, 12, 120, 24, 110, 48, 100, 84, 90),
			"rr":     byAge(age, 1, 0, 40, 6, 32, 12, 28, 24, 24, 48, 22, 84, 20),
			"sbp":    byAge(age, 3, 36, 94, 84, 102),
			"dbp":    byAge(age, 3, 36, 56, 84, 62),
			"bmipct": byAge(age, 2, 24, 55, 84, 62),
		},
	}
	asthmaDx := well(48, "dtap", "ipv", "mmr", "varicella")
	asthmaDx.dx = []string{"asthma"}
	asthmaDx.subj = "4-year well visit. Mother reports three episodes of cough and wheeze since last winter, night cough twice a week, better with the nebulizer. No ED visits."
	asthmaDx.plan = "Mild persistent asthma. Start fluticasone 44 mcg 2 puffs twice daily with spacer; albuterol inhaler with spacer as needed replaces the nebulizer. Asthma action plan given in Vietnamese. Kindergarten vaccines given. Follow up in 6 months."
	asthmaDx.prescribe = []med{
		{key: "fluticasone", drug: "fluticasone-44", sig: "Inhale 2 puffs by mouth twice daily with spacer. Rinse mouth after use.", dose: 2, freq: 2, period: 1, unit: "d", reason: "asthma", refills: 5},
		{key: "albuterol-mdi", drug: "albuterol-mdi", sig: "Inhale 2 puffs with spacer every 4 hours as needed for cough or wheeze.", dose: 2, freq: 1, period: 4, unit: "h", prn: true, reason: "asthma", refills: 2},
	}
	asthmaDx.stop = map[string]string{"albuterol-neb": "Changed to inhaler with spacer"}
	p.visits = join(
		[]visit{
			at(aged(0.5), "wellchild", visit{subj: "2-week newborn visit. Breastfeeding every 2-3 hours, 7 wet diapers a day. Hepatitis B vaccine given in the hospital.", plan: "Healthy newborn, back above birth weight. Vitamin D drops. Safe sleep reviewed. Return at 2 months."}),
			well(2, "dtap", "ipv", "hib", "pcv13", "rotavirus", "hepb-ped"),
			well(4, "dtap", "ipv", "hib", "pcv13", "rotavirus"),
			well(6, "dtap", "pcv13", "rotavirus", "hepb-ped", "ipv"),
			well(9),
			well(12, "mmr", "varicella", "hepa-ped", "pcv13", "hib"),
			at(aged(14), "acute", visit{by: "delgado", reason: "otitis", dx: []string{"otitis"}, set: map[string]float64{"temp": 38.4},
				subj: "Fever to 38.6 C and pulling at the left ear for 1 day after a cold. Eating less, no vomiting.",
				plan: "Left acute otitis media, mild, no otorrhea. Watchful waiting 48-72 hours with acetaminophen for pain; call if worse or not better."}),
			well(15, "dtap"),
			well(18, "hepa-ped"),
			well(24), well(30), well(36),
			at(aged(40), "acute", visit{by: "delgado", reason: "wheezing", dx: []string{"wheezing"}, set: map[string]float64{"spo2": 95, "rr": 30, "hr": 124},
				subj:      "Cough for 3 days with a cold, wheezing last night. No prior wheezing. Father smokes outside only.",
				plan:      "Wheezing with viral URI, improved after albuterol nebulizer in clinic (SpO2 95% to 98%). Home nebulizer with albuterol as needed. Return if breathing fast or working hard.",
				prescribe: []med{{key: "albuterol-neb", drug: "albuterol-neb", sig: "Inhale 0.5 mL (2.5 mg) in 3 mL normal saline by nebulizer every 4 to 6 hours as needed for wheezing.", dose: 0.5, freq: 1, period: 4, unit: "h", prn: true, reason: "wheezing", refills: 1}}}),
			asthmaDx,
			well(60), well(72),
			at(aged(69), "acute", visit{reason: "asthma", set: map[string]float64{"spo2": 94, "rr": 30, "hr": 126, "temp": 37.6},
				subj: "Asthma flare with a cold: cough and wheeze for 2 days, using albuterol every 4 hours. Stopped fluticasone when school let out.",
				plan: "Mild asthma exacerbation, good response to albuterol 4 puffs in clinic. Albuterol every 4 hours for 48 hours, then as needed; restart fluticasone daily. Recheck if no better in 2 days."}),
			at(aged(84), "wellchild", visit{subj: "7-year well visit. Asthma controlled: no night cough, albuterol less than once a week. In 2nd grade, reads in English and Vietnamese.",
				plan: "Healthy 7-year-old, BMI 62nd percentile. Asthma well controlled on fluticasone 44 mcg 2 puffs twice daily; continue. Flu vaccine this fall. Dental visit reminder."}),
		},
		every(aged(54), 30, 182, visit{kind: "asthma-fu", reason: "asthma"}),
	)
	p.next = []appt{{weekday: 5, hour: 15, kind: "asthma-fu", reason: "asthma", typ: "FOLLOWUP", desc: "Asthma follow-up, after school"}}
	return p
}
