package terminology

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Vaccine is a CDC CVX code with the attributes CDC publishes for it.
type Vaccine struct {
	Concept           // Display is CDC's short description
	FullName   string // CDC's full vaccine name
	Status     string // Active, Inactive, Non-US, Never Active
	NonVaccine bool   // the code is not a vaccine (e.g. an immune globulin)
	Groups     []string
	Note       string
}

// Active reports whether CDC lists the code as Active (in current US use).
func (v Vaccine) Active() bool { return v.Status == "Active" }

// CVXCodes is the CDC CVX code set (287 codes, up to CVX 330).
type CVXCodes struct {
	vaccines []Vaccine // rank order: active first, vaccines before non-vaccines, then code
	byCode   map[string]int32
	ix       *wordIndex
}

var cvx = sync.OnceValues(loadCVX)

// CVX returns the embedded CVX code set, loading it on first use.
func CVX() *CVXCodes { return must(cvx()) }

func loadCVX() (*CVXCodes, error) {
	var vs []Vaccine
	err := readTSV("cvx.tsv", func(_ int, cols []string) error {
		if len(cols) != 7 {
			return fmt.Errorf("want 7 columns, have %d", len(cols))
		}
		v := Vaccine{
			Concept:    Concept{System: SystemCVX, Code: cols[0], Display: cols[1]},
			FullName:   cols[2],
			Status:     cols[3],
			NonVaccine: cols[4] == "true",
			Note:       cols[6],
		}
		if cols[5] != "" {
			v.Groups = strings.Split(cols[5], "|")
		}
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Active() != b.Active() {
			return a.Active()
		}
		if a.NonVaccine != b.NonVaccine {
			return !a.NonVaccine
		}
		return cvxNumber(a.Code) < cvxNumber(b.Code)
	})
	c := &CVXCodes{vaccines: vs, byCode: map[string]int32{}}
	texts := make([]string, len(vs))
	for i, v := range vs {
		c.byCode[v.Code] = int32(i)
		texts[i] = v.Display + " " + v.FullName
	}
	c.ix = newWordIndex(texts)
	return c, nil
}

func cvxNumber(code string) int {
	n := 0
	for _, r := range code {
		if r < '0' || r > '9' {
			return 1 << 30
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// normCVX accepts "3" for "03": CVX codes below 10 have a leading zero.
func normCVX(code string) string {
	code = strings.TrimSpace(code)
	if len(code) == 1 && code[0] >= '0' && code[0] <= '9' {
		return "0" + code
	}
	return code
}

// Lookup returns the vaccine of a CVX code.
func (c *CVXCodes) Lookup(code string) (Vaccine, bool) {
	i, ok := c.byCode[normCVX(code)]
	if !ok {
		return Vaccine{}, false
	}
	return c.vaccines[i], true
}

// Search returns up to limit vaccines: the exact code first when the query
// is one, then those whose names have a word starting with every query
// word, active codes first.
func (c *CVXCodes) Search(query string, limit int) []Vaccine {
	if limit <= 0 {
		return nil
	}
	var out []Vaccine
	exact := int32(-1)
	if i, ok := c.byCode[normCVX(query)]; ok {
		exact = i
		out = append(out, c.vaccines[i])
	}
	for _, d := range c.ix.search(words(query), limit-len(out), func(d int32) bool { return d != exact }) {
		out = append(out, c.vaccines[d])
	}
	return out
}

// Active returns the codes CDC lists as Active, in code order.
func (c *CVXCodes) Active() []Vaccine {
	var out []Vaccine
	for _, v := range c.vaccines {
		if v.Active() {
			out = append(out, v)
		}
	}
	return out
}

// Groups returns the vaccine groups (themselves CVX codes, e.g. 89 polio)
// that a code rolls up to, as CDC's vaccine group table gives them.
func (c *CVXCodes) Groups(code string) []Concept {
	v, ok := c.Lookup(code)
	if !ok {
		return nil
	}
	var out []Concept
	for _, g := range v.Groups {
		if gv, ok := c.Lookup(g); ok {
			out = append(out, gv.Concept)
		} else {
			out = append(out, Concept{System: SystemCVX, Code: g})
		}
	}
	return out
}

// Members returns the codes that roll up to the vaccine group group.
func (c *CVXCodes) Members(group string) []Vaccine {
	group = normCVX(group)
	var out []Vaccine
	for _, v := range c.vaccines {
		for _, g := range v.Groups {
			if g == group {
				out = append(out, v)
				break
			}
		}
	}
	return out
}
