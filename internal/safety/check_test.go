package safety

import (
	"context"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/terminology"
)

const (
	rxnorm = terminology.SystemRxNorm
	snomed = "http://snomed.info/sct"
)

func rx(code, display string) Drug {
	return Drug{Codings: []Coding{{System: rxnorm, Code: code, Display: display}}}
}

var (
	amoxicillin500 = rx("308192", "Amoxicillin 500 MG Oral Tablet")
	azithromycin   = rx("308460", "azithromycin 250 MG Oral Tablet")
	cefuroxime     = rx("309097", "Cefuroxime 250 MG Oral Tablet")
	warfarin5      = rx("855332", "Warfarin Sodium 5 MG Oral Tablet")
	ibuprofen200   = rx("310965", "Ibuprofen 200 MG Oral Tablet")
	simvastatin20  = rx("312961", "Simvastatin 20 MG Oral Tablet")
	atorvastatin   = rx("83367", "atorvastatin")
	clarithromycin = rx("197517", "clarithromycin 500 MG Oral Tablet")
	lisinopril10   = rx("314076", "lisinopril 10 MG Oral Tablet")
)

func kinds(alerts []Alert) map[Kind][]Alert {
	m := map[Kind][]Alert{}
	for _, a := range alerts {
		m[a.Kind] = append(m[a.Kind], a)
	}
	return m
}

func TestAllergy(t *testing.T) {
	penicillinAllergies := map[string]Allergy{
		"SNOMED Penicillin substance 764146007": {Codings: []Coding{{System: snomed, Code: "764146007", Display: "Penicillin"}}},
		"SNOMED penicillin structure 373270004": {Codings: []Coding{{System: snomed, Code: "373270004"}}},
		"RxNorm 7980 penicillin G":              {Codings: []Coding{{System: rxnorm, Code: "7980", Display: "Penicillin G"}}},
		"RxNorm 70618 penicillin":               {Codings: []Coding{{System: rxnorm, Code: "70618", Display: "Penicillin"}}},
		"text penicillin":                       {Text: "penicillin"},
		"text Penicillins, any case":            {Text: "  PENICILLINS "},
		"text with a product name":              {Text: "Penicillin V potassium tablets"},
		"unknown SNOMED code, display fallback": {Codings: []Coding{{System: snomed, Code: "999999", Display: "Penicillin"}}},
	}
	for name, allergy := range penicillinAllergies {
		t.Run(name, func(t *testing.T) {
			got := kinds(Check(context.Background(), amoxicillin500, Context{Allergies: []Allergy{allergy}}))[KindAllergy]
			if len(got) != 1 {
				t.Fatalf("amoxicillin: want 1 allergy alert, got %+v", got)
			}
			if got[0].Severity != Major && got[0].Severity != Contraindicated {
				t.Errorf("severity %s, want major or contraindicated", got[0].Severity)
			}
			if !strings.Contains(got[0].Message, "amoxicillin") || got[0].Source == "" {
				t.Errorf("alert %+v: want the ingredient named and a source", got[0])
			}
			if a := Check(context.Background(), azithromycin, Context{Allergies: []Allergy{allergy}}); len(a) != 0 {
				t.Errorf("azithromycin: want no alert, got %+v", a)
			}
		})
	}
}

func TestAllergySeverities(t *testing.T) {
	tests := []struct {
		name     string
		drug     Drug
		allergy  Allergy
		severity Severity // "" for no alert
	}{
		{"same ingredient", amoxicillin500, Allergy{Codings: []Coding{{System: rxnorm, Code: "723"}}}, Contraindicated},
		{"same class", amoxicillin500, Allergy{Text: "penicillin G"}, Major},
		{"cephalosporin with penicillin allergy: low cross-reactivity", cefuroxime, Allergy{Text: "penicillin"}, Minor},
		{"aspirin with NSAID hypersensitivity", rx("243670", "Aspirin 81 MG Oral Tablet"), Allergy{Text: "ibuprofen"}, Major},
		{"statin allergy by VSAC SNOMED code", simvastatin20, Allergy{Codings: []Coding{{System: snomed, Code: "372912004"}}}, Major},
		{"sulfa allergy and amoxicillin", amoxicillin500, Allergy{Text: "sulfa"}, ""},
		{"unknown allergen text", amoxicillin500, Allergy{Text: "cat dander"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kinds(Check(context.Background(), tt.drug, Context{Allergies: []Allergy{tt.allergy}}))[KindAllergy]
			if tt.severity == "" {
				if len(got) != 0 {
					t.Fatalf("want no allergy alert, got %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.severity {
				t.Fatalf("want one %s alert, got %+v", tt.severity, got)
			}
		})
	}
}

func TestInteractions(t *testing.T) {
	tests := []struct {
		name     string
		proposed Drug
		active   Drug
		severity Severity
		source   string
	}{
		{"warfarin + ibuprofen", ibuprofen200, warfarin5, Major, "PDDI"},
		{"ibuprofen + warfarin, the other way", warfarin5, ibuprofen200, Major, "PDDI"},
		{"digoxin + cyclosporine", rx("197604", "Digoxin 0.125 MG Oral Tablet"), rx("3008", "Cyclosporine"), Major, "PDDI"},
		{"oxycodone + alprazolam", rx("1049683", "oxycodone hydrochloride 10 MG Oral Tablet"), Drug{Text: "alprazolam 0.5 mg tablet"}, Major, "CDC"},
		{"free-text brand Percocet + alprazolam", Drug{Text: "Percocet 5/325"}, Drug{Text: "alprazolam 0.5 mg"}, Major, "CDC"},
		{"simvastatin + clarithromycin", clarithromycin, simvastatin20, Contraindicated, "Zocor"},
		{"sildenafil + nitroglycerin", rx("136411", "sildenafil"), rx("705129", "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray"), Contraindicated, "Viagra"},
		{"lisinopril + spironolactone", lisinopril10, rx("9997", "Spironolactone"), Major, "hyperkalemia"},
		{"methotrexate + trimethoprim", rx("105585", "Methotrexate 2.5 MG Oral Tablet"), rx("10831", "sulfamethoxazole / trimethoprim"), Major, "Methotrexate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kinds(Check(context.Background(), tt.proposed, Context{ActiveMeds: []Drug{tt.active}}))[KindInteraction]
			if len(got) != 1 {
				t.Fatalf("want 1 interaction alert, got %+v", got)
			}
			if got[0].Severity != tt.severity || !strings.Contains(got[0].Source, tt.source) {
				t.Errorf("got %s from %q, want %s from a source naming %q", got[0].Severity, got[0].Source, tt.severity, tt.source)
			}
		})
	}
	if got := Check(context.Background(), azithromycin, Context{ActiveMeds: []Drug{warfarin5, lisinopril10}}); len(got) != 0 {
		t.Errorf("azithromycin with warfarin and lisinopril: want no alert in the starter set, got %+v", got)
	}
}

func TestDuplicates(t *testing.T) {
	got := kinds(Check(context.Background(), atorvastatin, Context{ActiveMeds: []Drug{simvastatin20}}))[KindDuplicate]
	if len(got) != 1 || got[0].Severity != Moderate || !strings.Contains(got[0].Message, "statins") {
		t.Fatalf("two statins: want one moderate duplicate alert naming statins, got %+v", got)
	}
	got = kinds(Check(context.Background(), rx("314231", "Simvastatin 10 MG Oral Tablet"), Context{ActiveMeds: []Drug{simvastatin20}}))[KindDuplicate]
	if len(got) != 1 || got[0].Severity != Major || !strings.Contains(got[0].Message, "simvastatin") {
		t.Fatalf("same ingredient: want one major duplicate alert, got %+v", got)
	}
	if got := Check(context.Background(), lisinopril10, Context{ActiveMeds: []Drug{simvastatin20}}); len(got) != 0 {
		t.Errorf("lisinopril with simvastatin: want no alert, got %+v", got)
	}
}

func TestUnknownDrug(t *testing.T) {
	everything := Context{
		Allergies:  []Allergy{{Text: "penicillin"}, {}, {Codings: []Coding{{System: rxnorm}}}},
		ActiveMeds: []Drug{warfarin5, {}, {Text: "herbal tea"}},
	}
	for _, d := range []Drug{
		{},
		{Text: "Unobtainium 10 mg"},
		rx("000000", ""),
		{Codings: []Coding{{System: "http://example.org/drugs", Code: "x"}}},
	} {
		if got := Check(context.Background(), d, everything); len(got) != 0 {
			t.Errorf("%+v: want no alerts, got %+v", d, got)
		}
		if got := Default().Resolve(d); len(got) != 0 {
			t.Errorf("%+v: resolved to %v", d, got)
		}
	}
}

func TestOrderBySeverity(t *testing.T) {
	got := Check(context.Background(), clarithromycin, Context{
		Allergies:  []Allergy{{Text: "penicillin"}},
		ActiveMeds: []Drug{simvastatin20, rx("197517", "clarithromycin 500 MG Oral Tablet")},
	})
	if len(got) < 2 {
		t.Fatalf("want an interaction and a duplicate, got %+v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Severity.rank() > got[i].Severity.rank() {
			t.Errorf("alerts out of order: %s before %s", got[i-1].Severity, got[i].Severity)
		}
	}
	if got[0].Severity != Contraindicated || got[0].Kind != KindInteraction {
		t.Errorf("first alert %+v, want the contraindicated interaction", got[0])
	}
}

func BenchmarkCheck(b *testing.B) {
	k := Default()
	c := Context{
		Allergies:  []Allergy{{Text: "penicillin"}, {Codings: []Coding{{System: snomed, Code: "372912004"}}}},
		ActiveMeds: []Drug{warfarin5, simvastatin20, lisinopril10, {Text: "metformin 500 mg"}, rx("197604", "Digoxin 0.125 MG Oral Tablet")},
	}
	for b.Loop() {
		k.Check(context.Background(), clarithromycin, c)
	}
}
