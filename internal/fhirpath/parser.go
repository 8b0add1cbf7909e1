package fhirpath

import (
	"strconv"
	"strings"
)

// Expression is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use.
type Expression struct {
	src  string
	root node
}

// String returns the source text of the expression.
func (e *Expression) String() string { return e.src }

// Compile parses expr once so that it can be evaluated many times. Syntax
// errors are *SyntaxError values giving the line, column and what was expected.
func Compile(expr string) (*Expression, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{src: expr, toks: toks}
	n, err := p.parseExpr(precImplies)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "expected an operator or end of expression, found %s", t)
	}
	return &Expression{src: expr, root: n}, nil
}

// MustCompile is like Compile but panics on error; for expressions fixed at build time.
func MustCompile(expr string) *Expression {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// Operator precedence, loosest first (FHIRPath §10 operator precedence).
const (
	precImplies = iota + 1
	precOr
	precAnd
	precMembership
	precEquality
	precInequality
	precUnion
	precType
	precAdditive
	precMultiplicative
)

var binaryPrec = map[string]int{
	"implies": precImplies, "or": precOr, "xor": precOr, "and": precAnd,
	"in": precMembership, "contains": precMembership,
	"=": precEquality, "~": precEquality, "!=": precEquality, "!~": precEquality,
	"<": precInequality, ">": precInequality, "<=": precInequality, ">=": precInequality,
	"|": precUnion, "is": precType, "as": precType,
	"+": precAdditive, "-": precAdditive, "&": precAdditive,
	"*": precMultiplicative, "/": precMultiplicative, "div": precMultiplicative, "mod": precMultiplicative,
}

var keywords = map[string]bool{
	"and": true, "or": true, "xor": true, "implies": true, "div": true, "mod": true,
	"in": true, "contains": true, "is": true, "as": true, "true": true, "false": true,
}

type parser struct {
	src  string
	toks []token
	i    int
	// depth guards against stack exhaustion on hostile input.
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return newSyntaxError(p.src, t.pos, format, args...)
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}

func (p *parser) expectOp(s string) error {
	t := p.next()
	if t.kind != tOp || t.text != s {
		return p.errorf(t, "expected '%s', found %s", s, t)
	}
	return nil
}

func (p *parser) binaryOp() (string, int) {
	t := p.peek()
	if t.kind != tOp && t.kind != tIdent {
		return "", 0
	}
	prec, ok := binaryPrec[t.text]
	if !ok {
		return "", 0
	}
	return t.text, prec
}

func (p *parser) parseExpr(minPrec int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 200 {
		return nil, p.errorf(p.peek(), "expression nested too deeply")
	}
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op, prec := p.binaryOp()
		if prec == 0 || prec < minPrec {
			return left, nil
		}
		opTok := p.next()
		if op == "is" || op == "as" {
			ts, err := p.parseTypeSpecifier()
			if err != nil {
				return nil, err
			}
			left = &typeOpNode{left: left, op: op, typ: ts}
			continue
		}
		right, err := p.parseExpr(prec + 1)
		if err != nil {
			return nil, err
		}
		left, err = newBinary(op, left, right)
		if err != nil {
			return nil, p.errorf(opTok, "%v", err)
		}
	}
}

func (p *parser) parseUnary() (node, error) {
	if p.isOp("+") || p.isOp("-") {
		op := p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > 200 {
			return nil, p.errorf(op, "expression nested too deeply")
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if op.text == "+" {
			return &unaryNode{x: x}, nil
		}
		if lit, ok := x.(*literalNode); ok {
			if v, ok := negateLiteral(lit.v); ok {
				return &literalNode{v: v}, nil
			}
		}
		return &unaryNode{neg: true, x: x}, nil
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (node, error) {
	n, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tIdent && t.kind != tDelimIdent {
				return nil, p.errorf(t, "expected a name or function after '.', found %s", t)
			}
			if t.kind == tIdent && p.isOp("(") {
				n, err = p.parseCall(t, n)
				if err != nil {
					return nil, err
				}
			} else {
				n = &memberNode{left: n, name: t.text}
			}
		case p.isOp("["):
			open := p.next()
			idx, err := p.parseExpr(precImplies)
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			_ = open
			n = &indexNode{left: n, index: idx}
		default:
			return n, nil
		}
	}
}

func (p *parser) parseTerm() (node, error) {
	t := p.next()
	switch t.kind {
	case tEOF:
		return nil, p.errorf(t, "expression ends early: expected a term")
	case tNumber:
		return p.numberLiteral(t)
	case tLong:
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorf(t, "integer literal out of range")
		}
		return &literalNode{v: Integer(i)}, nil
	case tString:
		return &literalNode{v: String(t.text)}, nil
	case tDateTime:
		var d DateTime
		var err error
		if strings.Contains(t.text, "T") {
			d, err = ParseDateTime(t.text)
		} else {
			d, err = ParseDate(t.text)
		}
		if err != nil {
			return nil, p.errorf(t, "%v", err)
		}
		return &literalNode{v: DateTimeValue(d)}, nil
	case tTime:
		d, err := ParseTime(t.text)
		if err != nil {
			return nil, p.errorf(t, "%v", err)
		}
		return &literalNode{v: DateTimeValue(d)}, nil
	case tExtConst:
		return &varNode{name: t.text}, nil
	case tSpecial:
		return &specialNode{name: t.text}, nil
	case tDelimIdent:
		return &identNode{name: t.text}, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return &literalNode{v: Boolean(t.text == "true")}, nil
		}
		if p.isOp("(") {
			return p.parseCall(t, nil)
		}
		if keywords[t.text] && t.text != "as" && t.text != "is" && t.text != "contains" && t.text != "in" {
			return nil, p.errorf(t, "unexpected keyword %s: expected a term", t)
		}
		return &identNode{name: t.text}, nil
	case tOp:
		switch t.text {
		case "(":
			n, err := p.parseExpr(precImplies)
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return n, nil
		case "{":
			if err := p.expectOp("}"); err != nil {
				return nil, err
			}
			return &literalNode{empty: true}, nil
		}
	}
	return nil, p.errorf(t, "expected a term, found %s", t)
}

func (p *parser) numberLiteral(t token) (node, error) {
	var v Value
	if strings.Contains(t.text, ".") {
		d, err := ParseDecimal(t.text)
		if err != nil {
			return nil, p.errorf(t, "%v", err)
		}
		v = DecimalValue(d)
	} else if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
		v = Integer(i)
	} else {
		d, err := ParseDecimal(t.text)
		if err != nil {
			return nil, p.errorf(t, "%v", err)
		}
		v = DecimalValue(d)
	}
	// a quantity: number followed by a UCUM string or a calendar keyword
	u := p.peek()
	unit := ""
	if u.kind == tString {
		unit = u.text
	} else if u.kind == tIdent {
		if _, ok := calendarUCUM[u.text]; ok {
			unit = u.text
		}
	}
	if unit == "" {
		return &literalNode{v: v}, nil
	}
	p.next()
	var d Decimal
	if v.kind == KindInteger {
		d = DecimalFromInt(v.data.(int64))
	} else {
		d = v.data.(Decimal)
	}
	return &literalNode{v: QuantityValue(Quantity{Value: d, Unit: unit})}, nil
}

// parseTypeSpecifier reads a qualified type name: Name, FHIR.Name, System.`Name`.
func (p *parser) parseTypeSpecifier() (typeSpec, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tDelimIdent {
		return typeSpec{}, p.errorf(t, "expected a type name, found %s", t)
	}
	parts := []string{t.text}
	for p.isOp(".") {
		p.next()
		t = p.next()
		if t.kind != tIdent && t.kind != tDelimIdent {
			return typeSpec{}, p.errorf(t, "expected a type name after '.', found %s", t)
		}
		parts = append(parts, t.text)
	}
	return makeTypeSpec(parts), nil
}

func makeTypeSpec(parts []string) typeSpec {
	if len(parts) >= 2 && (parts[0] == "FHIR" || parts[0] == "System") {
		return typeSpec{ns: parts[0], name: strings.Join(parts[1:], ".")}
	}
	return typeSpec{name: strings.Join(parts, ".")}
}

// typeSpecFromNode interprets a function argument such as ofType(FHIR.Patient) as a type.
func typeSpecFromNode(n node) (typeSpec, bool) {
	var parts []string
	for {
		switch x := n.(type) {
		case *identNode:
			parts = append([]string{x.name}, parts...)
			return makeTypeSpec(parts), true
		case *memberNode:
			parts = append([]string{x.name}, parts...)
			n = x.left
		default:
			return typeSpec{}, false
		}
	}
}

func (p *parser) parseCall(name token, target node) (node, error) {
	open := p.next() // "("
	var args []node
	if !p.isOp(")") {
		for {
			a, err := p.parseExpr(precImplies)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.isOp(",") {
				p.next()
				continue
			}
			break
		}
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	def, ok := functions[name.text]
	if !ok {
		return nil, p.errorf(name, "unknown function %s", name.text)
	}
	if len(args) < def.minArgs || len(args) > def.maxArgs {
		if def.minArgs == def.maxArgs {
			return nil, p.errorf(open, "function %s takes %d argument(s), found %d", name.text, def.minArgs, len(args))
		}
		return nil, p.errorf(open, "function %s takes %d to %d arguments, found %d", name.text, def.minArgs, def.maxArgs, len(args))
	}
	call := &callNode{target: target, def: def, args: args, name: name.text}
	if def.typeArg {
		ts, ok := typeSpecFromNode(args[0])
		if !ok {
			return nil, p.errorf(open, "function %s expects a type name", name.text)
		}
		call.typ = ts
	}
	return call, nil
}
