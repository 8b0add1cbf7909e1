package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/store"
)

func testSort(t *testing.T, s store.Store) {
	fixture(t, s)
	by := func(param string, kind store.Kind, desc bool) store.Sort {
		return store.Sort{Param: param, Kind: kind, Desc: desc}
	}
	tests := []struct {
		name  string
		types []string
		sort  []store.Sort
		want  []string
	}{
		{"date asc, missing last", patient, []store.Sort{by("birthdate", store.KindDate, false)}, []string{"p1", "p2", "p3"}},
		{"date desc, missing last", patient, []store.Sort{by("birthdate", store.KindDate, true)}, []string{"p2", "p1", "p3"}},
		{"string asc", patient, []store.Sort{by("family", store.KindString, false)}, []string{"p3", "p1", "p2"}},
		{"string desc", patient, []store.Sort{by("family", store.KindString, true)}, []string{"p2", "p1", "p3"}},
		{"_id desc", patient, []store.Sort{by("_id", store.KindID, true)}, []string{"p3", "p2", "p1"}},
		{"_lastUpdated desc", patient, []store.Sort{by("_lastUpdated", store.KindLastUpdated, true)}, []string{"p3", "p2", "p1"}},
		{"token then _id desc", patient, []store.Sort{by("gender", store.KindToken, false), by("_id", store.KindID, true)}, []string{"p2", "p3", "p1"}},
		{"quantity asc", obsType, []store.Sort{by("value-quantity", store.KindQuantity, false)}, []string{"ob2", "ob4", "ob1", "ob3"}},
		{"date desc by high", obsType, []store.Sort{by("date", store.KindDate, true)}, []string{"ob4", "ob3", "ob2", "ob1"}},
		{"reference asc", obsType, []store.Sort{by("subject", store.KindReference, false)}, []string{"ob1", "ob2", "ob3", "ob4"}},
		{"number asc, missing last", obsType, []store.Sort{by("probability", store.KindNumber, false)}, []string{"ob2", "ob1", "ob3", "ob4"}},
		{"number desc, missing last", obsType, []store.Sort{by("probability", store.KindNumber, true)}, []string{"ob1", "ob2", "ob3", "ob4"}},
		{"uri desc", []string{"ValueSet"}, []store.Sort{by("url", store.KindURI, true)}, []string{"vs2", "vs1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), &store.Query{Types: tc.types, Sort: tc.sort, Count: 50})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records {
				got = append(got, r.ID)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("order (-want +got):\n%s", d)
			}
		})
	}
}

func testPaging(t *testing.T, s store.Store) {
	fixture(t, s)
	desc := []store.Sort{{Param: "value-quantity", Kind: store.KindQuantity, Desc: true}}
	tests := []struct {
		name  string
		q     store.Query
		want  []string
		total int
		more  bool
	}{
		{"first page", store.Query{Types: patient, Count: 2, Total: store.TotalAccurate}, []string{"p1", "p2"}, 3, true},
		{"last page", store.Query{Types: patient, Count: 2, Offset: 2, Total: store.TotalAccurate}, []string{"p3"}, 3, false},
		{"past the end", store.Query{Types: patient, Count: 2, Offset: 4, Total: store.TotalAccurate}, nil, 3, false},
		{"exact fit", store.Query{Types: patient, Count: 3, Total: store.TotalAccurate}, []string{"p1", "p2", "p3"}, 3, false},
		{"total only", store.Query{Types: patient, Total: store.TotalAccurate}, nil, 3, false},
		{"estimate", store.Query{Types: patient, Count: 1, Total: store.TotalEstimate}, []string{"p1"}, 3, true},
		{"no total", store.Query{Types: patient, Count: 1}, []string{"p1"}, -1, true},
		{"sorted page 1", store.Query{Types: obsType, Sort: desc, Count: 3, Total: store.TotalAccurate}, []string{"ob3", "ob1", "ob4"}, 4, true},
		{"sorted page 2", store.Query{Types: obsType, Sort: desc, Count: 3, Offset: 3, Total: store.TotalAccurate}, []string{"ob2"}, 4, false},
		{"filtered", store.Query{Types: obsType, Where: where(anyTok("code", "8480-6")), Count: 1, Offset: 1, Total: store.TotalAccurate}, []string{"ob3"}, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), &tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records {
				got = append(got, r.ID)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("page (-want +got):\n%s", d)
			}
			if res.Total != tc.total || res.More != tc.more {
				t.Errorf("Total, More = %d, %v; want %d, %v", res.Total, res.More, tc.total, tc.more)
			}
		})
	}
}
