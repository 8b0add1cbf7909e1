package fhirpath

// Date/time component functions (yearOf() ... timezoneOffsetOf(), dateOf(),
// timeOf()) from FHIRPath 3.0; they are cheap and FHIR invariants written for
// newer engines use them. A string input is read as a date/time.

func temporalInput(in Collection) (DateTime, bool, error) {
	v, ok, err := singleInput(in)
	if err != nil || !ok {
		return DateTime{}, false, err
	}
	if v.kind == KindString {
		s := v.data.(string)
		if d, ok := parseLike(s, KindDateTime); ok {
			v = d
		} else if d, ok := parseLike(s, KindTime); ok {
			v = d
		}
	}
	d, ok := v.data.(DateTime)
	return d, ok, nil
}

func componentFn(name string, need Precision, timeOK, dateOK bool, get func(DateTime) int) {
	register(name, 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		d, ok, err := temporalInput(in)
		if err != nil || !ok {
			return nil, err
		}
		if d.Kind == KindTime && !timeOK || d.Kind != KindTime && !dateOK || d.Precision < need {
			return nil, nil
		}
		return Collection{Integer(int64(get(d)))}, nil
	})
}

func init() {
	componentFn("yearOf", PrecYear, false, true, func(d DateTime) int { return d.Year })
	componentFn("monthOf", PrecMonth, false, true, func(d DateTime) int { return d.Month })
	componentFn("dayOf", PrecDay, false, true, func(d DateTime) int { return d.Day })
	componentFn("hourOf", PrecHour, true, true, func(d DateTime) int { return d.Hour })
	componentFn("minuteOf", PrecMinute, true, true, func(d DateTime) int { return d.Minute })
	componentFn("secondOf", PrecSecond, true, true, func(d DateTime) int { return d.Second })
	componentFn("millisecondOf", PrecMillisecond, true, true, func(d DateTime) int { return d.Millisecond })
	register("timezoneOffsetOf", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		d, ok, err := temporalInput(in)
		if err != nil || !ok || d.Kind != KindDateTime || !d.HasTZ {
			return nil, err
		}
		h, _ := DecimalFromInt(int64(d.TZOffset)).Div(DecimalFromInt(60))
		return Collection{DecimalValue(h)}, nil
	})
	register("dateOf", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		d, ok, err := temporalInput(in)
		if err != nil || !ok || d.Kind == KindTime {
			return nil, err
		}
		r, _ := toDateConv(DateTimeValue(d))
		return Collection{r}, nil
	})
	register("timeOf", 0, 0, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		d, ok, err := temporalInput(in)
		if err != nil || !ok || d.Kind != KindDateTime || d.Precision < PrecHour {
			return nil, err
		}
		d.Kind, d.HasTZ, d.TZOffset = KindTime, false, 0
		d.Year, d.Month, d.Day = 0, 0, 0
		return Collection{DateTimeValue(d)}, nil
	})
}
