package demo

// The demo's vocabulary. Every code here is a published code of its system
// (ICD-10-CM FY2026, LOINC, SNOMED CT US edition, RxNorm, CVX, the HL7
// terminology); displays follow the systems' own wording.

// condDef is a diagnosis coded in ICD-10-CM (for billing) and, where the
// problem list wants it, SNOMED CT.
type condDef struct {
	icd, icdDisplay string
	sct, sctDisplay string
	text            string
	chronic         bool // goes on the problem list; otherwise an encounter diagnosis
	lastsDays       int  // for acute problems: days until resolved
}

var conditions = map[string]condDef{
	"asthma":       {"J45.30", "Mild persistent asthma, uncomplicated", "195967001", "Asthma", "Mild persistent asthma", true, 0},
	"wheezing":     {"R06.2", "Wheezing", "56018004", "Wheezing", "Wheezing", false, 10},
	"otitis":       {"H66.90", "Otitis media, unspecified, unspecified ear", "65363002", "Otitis media", "Acute otitis media", false, 14},
	"t2dm":         {"E11.9", "Type 2 diabetes mellitus without complications", "44054006", "Diabetes mellitus type 2", "Type 2 diabetes mellitus", true, 0},
	"htn":          {"I10", "Essential (primary) hypertension", "59621000", "Essential hypertension", "Essential hypertension", true, 0},
	"hld":          {"E78.5", "Hyperlipidemia, unspecified", "55822004", "Hyperlipidemia", "Hyperlipidemia", true, 0},
	"chf":          {"I50.22", "Chronic systolic (congestive) heart failure", "88805009", "Chronic congestive heart failure", "Chronic systolic heart failure", true, 0},
	"afib":         {"I48.20", "Chronic atrial fibrillation, unspecified", "49436004", "Atrial fibrillation", "Chronic atrial fibrillation", true, 0},
	"pregnancy":    {"Z34.00", "Encounter for supervision of normal first pregnancy, unspecified trimester", "72892002", "Normal pregnancy", "Pregnancy, first", true, 0},
	"anemia-preg":  {"O99.012", "Anemia complicating pregnancy, second trimester", "271737000", "Anemia", "Anemia of pregnancy", true, 0},
	"copd":         {"J44.9", "Chronic obstructive pulmonary disease, unspecified", "13645005", "Chronic obstructive lung disease", "COPD", true, 0},
	"copd-exac":    {"J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation", "", "", "COPD exacerbation", false, 14},
	"nicotine":     {"F17.210", "Nicotine dependence, cigarettes, uncomplicated", "56294008", "Nicotine dependence", "Nicotine dependence, cigarettes", true, 0},
	"strep":        {"J02.0", "Streptococcal pharyngitis", "43878008", "Streptococcal sore throat", "Strep pharyngitis", false, 10},
	"sinusitis":    {"J01.90", "Acute sinusitis, unspecified", "444814009", "Viral sinusitis", "Acute viral sinusitis", false, 14},
	"ankle-sprain": {"S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter", "44465007", "Sprain of ankle", "Right ankle sprain", false, 28},
	"rhinitis":     {"J30.2", "Other seasonal allergic rhinitis", "367498001", "Seasonal allergic rhinitis", "Seasonal allergic rhinitis", true, 0},
	"bronchitis":   {"J20.9", "Acute bronchitis, unspecified", "10509002", "Acute bronchitis", "Acute bronchitis", false, 21},
}

// Encounter reasons that are not problems: ICD-10-CM Z codes.
var (
	reasonAdultExam = code{sysICD10CM, "Z00.00", "Encounter for general adult medical examination without abnormal findings"}
	reasonChildExam = code{sysICD10CM, "Z00.129", "Encounter for routine child health examination without abnormal findings"}
	reasonVaccine   = code{sysICD10CM, "Z23", "Encounter for immunization"}
	reasonAnticoag  = code{sysICD10CM, "Z79.01", "Long term (current) use of anticoagulants"}
)

// visitKind is an encounter type (SNOMED CT) with its usual length.
type visitKind struct {
	typ     code
	minutes int
	note    code // LOINC document type of its note
}

var (
	notePN = code{sysLOINC, "11506-3", "Progress note"}
	noteHP = code{sysLOINC, "34117-2", "History and physical note"}
)

var visitKinds = map[string]visitKind{
	"checkup":   {code{sysSNOMED, "185349003", "Encounter for check up"}, 40, noteHP},
	"wellchild": {code{sysSNOMED, "410620009", "Well child visit"}, 30, noteHP},
	"followup":  {code{sysSNOMED, "390906007", "Follow-up encounter"}, 20, notePN},
	"asthma-fu": {code{sysSNOMED, "394701000", "Asthma follow-up"}, 20, notePN},
	"acute":     {code{sysSNOMED, "185345009", "Encounter for symptom"}, 20, notePN},
	"prenatal1": {code{sysSNOMED, "424441002", "Prenatal initial visit"}, 40, noteHP},
	"prenatal":  {code{sysSNOMED, "424619006", "Prenatal visit"}, 20, notePN},
	"vaccine":   {code{sysSNOMED, "33879002", "Administration of vaccine to produce active immunity"}, 10, notePN},
}

// drug is an RxNorm clinical drug with how it is dispensed.
type drug struct {
	rxnorm, display string
	route           code
	unit, ucum      string  // dose unit
	pack            float64 // quantity dispensed per fill
}

var (
	routeOral    = code{tho + "v3-RouteOfAdministration", "PO", "Swallow, oral"}
	routeInhaled = code{tho + "v3-RouteOfAdministration", "IPINHL", "Inhalation, respiratory"}
	routeIM      = code{tho + "v3-RouteOfAdministration", "IM", "Injection, intramuscular"}
	routeSubQ    = code{tho + "v3-RouteOfAdministration", "SQ", "Injection, subcutaneous"}
)

var drugs = map[string]drug{
	"metformin-er-500": {"860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"lisinopril-10":    {"314076", "lisinopril 10 MG Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"lisinopril-20":    {"314077", "lisinopril 20 MG Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"simvastatin-20":   {"312961", "Simvastatin 20 MG Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"warfarin-5":       {"855332", "Warfarin Sodium 5 MG Oral Tablet", routeOral, "tablet", "{tbl}", 30},
	"furosemide-40":    {"313988", "Furosemide 40 MG Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"carvedilol-25":    {"200033", "carvedilol 25 MG Oral Tablet", routeOral, "tablet", "{tbl}", 180},
	"spironolactone":   {"313096", "Spironolactone 25 MG Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"albuterol-neb":    {"245314", "Albuterol 5 MG/ML Inhalation Solution", routeInhaled, "mL", "mL", 20},
	"albuterol-mdi":    {"745679", "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", routeInhaled, "puff", "{puff}", 200},
	"fluticasone-44":   {"895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", routeInhaled, "puff", "{puff}", 120},
	"advair-250":       {"896209", "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler", routeInhaled, "puff", "{puff}", 60},
	"prednisone-5":     {"312617", "predniSONE 5 MG Oral Tablet", routeOral, "tablet", "{tbl}", 40},
	"azithromycin-250": {"308460", "Azithromycin 250 MG Oral Tablet", routeOral, "tablet", "{tbl}", 6},
	"ferrous-sulfate":  {"310325", "ferrous sulfate 325 MG Oral Tablet", routeOral, "tablet", "{tbl}", 90},
	"cetirizine-5":     {"1014676", "cetirizine hydrochloride 5 MG Oral Tablet", routeOral, "tablet", "{tbl}", 60},
	"ibuprofen-600":    {"197806", "Ibuprofen 600 MG Oral Tablet", routeOral, "tablet", "{tbl}", 30},
}

// vaccine is a CVX code with how it is given.
type vaccine struct {
	cvx, display string
	route        code
	ml           float64
}

var vaccines = map[string]vaccine{
	"hepb-ped":  {"08", "Hep B, adolescent or pediatric", routeIM, 0.5},
	"dtap":      {"20", "DTaP", routeIM, 0.5},
	"ipv":       {"10", "IPV", routeIM, 0.5},
	"hib":       {"49", "Hib (PRP-OMP)", routeIM, 0.5},
	"pcv13":     {"133", "Pneumococcal conjugate PCV 13", routeIM, 0.5},
	"rotavirus": {"116", "rotavirus, pentavalent", routeOral, 2},
	"mmr":       {"03", "MMR", routeSubQ, 0.5},
	"varicella": {"21", "varicella", routeSubQ, 0.5},
	"hepa-ped":  {"83", "Hep A, ped/adol, 2 dose", routeIM, 0.5},
	"flu4":      {"150", "Influenza, split virus, quadrivalent, PF", routeIM, 0.5},
	"flu3":      {"140", "Influenza, split virus, trivalent, PF", routeIM, 0.5},
	"flu4-hd":   {"197", "Influenza, high-dose, quadrivalent, PF", routeIM, 0.7},
	"flu3-hd":   {"135", "Influenza, high-dose, trivalent, PF", routeIM, 0.5},
	"tdap":      {"115", "Tdap", routeIM, 0.5},
	"pcv20":     {"216", "Pneumococcal conjugate PCV20, polysaccharide CRM197 conjugate, adjuvant, PF", routeIM, 0.5},
	"zoster":    {"187", "zoster vaccine recombinant", routeIM, 0.5},
}

// SNOMED CT answers for tobacco smoking status (LOINC 72166-2), as US Core
// binds them.
var smoking = map[string]code{
	"never":  {sysSNOMED, "266919005", "Never smoked tobacco"},
	"former": {sysSNOMED, "8517006", "Ex-smoker"},
	"daily":  {sysSNOMED, "449868002", "Smokes tobacco daily"},
}

var (
	positive = code{sysSNOMED, "10828004", "Positive"}
	negative = code{sysSNOMED, "260385009", "Negative"}
	pregnant = code{sysSNOMED, "77386006", "Pregnant"}
)
