package validate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openchart/openchart/internal/fhir/defs"
)

type finding struct {
	Code, Expression string
}

func TestInvalidResources(t *testing.T) {
	v := New(defs.Default(), Options{})
	const div = `<div xmlns=\"http://www.w3.org/1999/xhtml\">`
	tests := []struct {
		name string
		json string
		want []finding
	}{
		{"unknown resource type", `{"resourceType":"Patiant"}`, []finding{{"structure", "Patiant"}}},
		{"abstract resource type", `{"resourceType":"DomainResource","id":"a"}`, []finding{{"structure", "DomainResource"}}},
		{"no resourceType", `{"id":"a"}`, []finding{{"structure", "Resource"}}},
		{"unknown element at root", `{"resourceType":"Patient","foo":1}`, []finding{{"structure", "Patient.foo"}}},
		{"unknown element in datatype", `{"resourceType":"Patient","name":[{"family":"X","nickname":"Y"}]}`, []finding{{"structure", "Patient.name[0].nickname"}}},
		{"unknown element in backbone", `{"resourceType":"Patient","contact":[{"name":{"family":"X"},"age":3}]}`, []finding{{"structure", "Patient.contact[0].age"}}},
		{"unknown element in contained", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p"},"contained":[{"resourceType":"Patient","id":"p","bogus":true}]}`, []finding{{"structure", "Observation.contained[0].bogus"}}},
		{"unknown element in extension", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"a","note":"b"}]}`, []finding{{"structure", "Patient.extension[0].note"}}},
		{"unknown element in bundle entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"male","x":1}}]}`, []finding{{"structure", "Bundle.entry[0].resource.x"}}},
		{"choice type not allowed", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueMoney":{"value":1}}`, []finding{{"structure", "Observation.valueMoney"}}},
		{"two choice variants", `{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020-01-01"}`, []finding{{"structure", "Patient.deceased*"}}},
		{"choice name without type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"value":"1"}`, []finding{{"structure", "Observation.value"}}},
		{"array for single", `{"resourceType":"Patient","gender":["male"]}`, []finding{{"structure", "Patient.gender"}}},
		{"single for array", `{"resourceType":"Patient","name":{"family":"X"}}`, []finding{{"structure", "Patient.name"}}},
		{"primitive array item single", `{"resourceType":"Patient","name":[{"given":"Ann"}]}`, []finding{{"structure", "Patient.name[0].given"}}},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`, []finding{{"structure", "Patient.active"}}},
		{"integer as string", `{"resourceType":"Patient","multipleBirthInteger":"2"}`, []finding{{"structure", "Patient.multipleBirthInteger"}}},
		{"string as number", `{"resourceType":"Patient","name":[{"family":12}]}`, []finding{{"structure", "Patient.name[0].family"}}},
		{"object for primitive", `{"resourceType":"Patient","birthDate":{"value":"2000"}}`, []finding{{"structure", "Patient.birthDate"}}},
		{"decimal integer", `{"resourceType":"Patient","multipleBirthInteger":2.5}`, []finding{{"value", "Patient.multipleBirthInteger"}}},
		{"integer out of range", `{"resourceType":"Patient","multipleBirthInteger":3000000000}`, []finding{{"value", "Patient.multipleBirthInteger"}}},
		{"positiveInt zero", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueSampledData":{"origin":{"value":1},"period":1,"dimensions":0}}`, []finding{{"value", "Observation.valueSampledData.dimensions"}}},
		{"bad date", `{"resourceType":"Patient","birthDate":"2020-13-01"}`, []finding{{"value", "Patient.birthDate"}}},
		{"impossible date", `{"resourceType":"Patient","birthDate":"2021-02-29"}`, []finding{{"value", "Patient.birthDate"}}},
		{"dateTime without zone", `{"resourceType":"Patient","deceasedDateTime":"2020-01-01T10:00:00"}`, []finding{{"value", "Patient.deceasedDateTime"}}},
		{"partial instant", `{"resourceType":"Patient","meta":{"lastUpdated":"2020-01-01"}}`, []finding{{"value", "Patient.meta.lastUpdated"}}},
		{"bad time", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueTime":"25:00:00"}`, []finding{{"value", "Observation.valueTime"}}},
		{"code with space", `{"resourceType":"Patient","gender":" male"}`, []finding{{"value", "Patient.gender"}}},
		{"bad code in required binding", `{"resourceType":"Patient","gender":"mal"}`, []finding{{"code-invalid", "Patient.gender"}}},
		{"bad code in required binding in backbone", `{"resourceType":"Patient","contact":[{"name":{"family":"X"},"gender":"f"}]}`, []finding{{"code-invalid", "Patient.contact[0].gender"}}},
		{"bad CodeableConcept in required binding", `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"gone"}]}}`, []finding{{"code-invalid", "AllergyIntolerance.clinicalStatus"}}},
		{"bad uuid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueUuid":"urn:uuid:ABC"}]}`, []finding{{"value", "Patient.extension[0].valueUuid"}}},
		{"missing required elements", `{"resourceType":"Observation"}`, []finding{{"required", "Observation.code"}, {"required", "Observation.status"}}},
		{"missing required choice", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}}`, []finding{{"required", "MedicationRequest.medication[x]"}}},
		{"missing required in backbone", `{"resourceType":"Patient","link":[{"type":"seealso"}]}`, []finding{{"required", "Patient.link[0].other"}}},
		{"empty string", `{"resourceType":"Patient","name":[{"family":""}]}`, []finding{{"value", "Patient.name[0].family"}}},
		{"empty object", `{"resourceType":"Patient","maritalStatus":{}}`, []finding{{"value", "Patient.maritalStatus"}}},
		{"empty array", `{"resourceType":"Patient","name":[]}`, []finding{{"value", "Patient.name"}}},
		{"null value", `{"resourceType":"Patient","gender":null}`, []finding{{"structure", "Patient.gender"}}},
		{"null in array without extension", `{"resourceType":"Patient","name":[{"given":["A",null]}]}`, []finding{{"structure", "Patient.name[0].given[1]"}}},
		{"primitive extension bad content", `{"resourceType":"Patient","birthDate":"2000","_birthDate":{"value":"x"}}`, []finding{{"structure", "Patient._birthDate.value"}}},
		{"primitive extension on complex", `{"resourceType":"Patient","_name":[{"id":"a"}]}`, []finding{{"structure", "Patient._name"}}},
		{"misaligned primitive arrays", `{"resourceType":"Patient","name":[{"given":["A","B"],"_given":[null]}]}`, []finding{{"structure", "Patient.name[0]._given"}}},
		{"bad resource id", `{"resourceType":"Patient","id":"a b"}`, []finding{{"value", "Patient.id"}}},
		{"resource id too long", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, []finding{{"value", "Patient.id"}}},
		{"bad reference", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"not a ref"}}`, []finding{{"invalid", "Observation.subject.reference"}}},
		{"reference unknown type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Foo/1"}}`, []finding{{"invalid", "Observation.subject.reference"}}},
		{"reference bad id", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/a_b"}}`, []finding{{"invalid", "Observation.subject.reference"}}},
		{"reference wrong target type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Medication/1"}}`, []finding{{"invalid", "Observation.subject.reference"}}},
		{"unresolved contained reference", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p1"}}`, []finding{{"invalid", "Observation.subject.reference"}}},
		{"bad urn:uuid", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:XYZ"}}`, []finding{{"invalid", "Observation.subject.reference"}}},
		{"nested contained", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p"},"contained":[{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Patient","id":"q"}]}]}`, []finding{{"invariant", "Observation.contained[0]"}}},
		{"contained with versionId", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p"},"contained":[{"resourceType":"Patient","id":"p","meta":{"versionId":"1"}}]}`, []finding{{"invariant", "Observation.contained[0]"}}},
		{"unreferenced contained", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}]}`, []finding{{"invariant", "Observation.contained[0]"}}},
		{"div not xhtml", `{"resourceType":"Patient","text":{"status":"generated","div":"<p>hello</p>"}}`, []finding{{"value", "Patient.text.div"}}},
		{"div not well formed", `{"resourceType":"Patient","text":{"status":"generated","div":"` + div + `<p>hello</div>"}}`, []finding{{"value", "Patient.text.div"}}},
		{"div without namespace", `{"resourceType":"Patient","text":{"status":"generated","div":"<div>hello</div>"}}`, []finding{{"value", "Patient.text.div"}}},
		{"div with script", `{"resourceType":"Patient","text":{"status":"generated","div":"` + div + `<script>alert(1)</script></div>"}}`, []finding{{"value", "Patient.text.div"}}},
		{"div with event handler", `{"resourceType":"Patient","text":{"status":"generated","div":"` + div + `<p onclick=\"x()\">hi</p></div>"}}`, []finding{{"value", "Patient.text.div"}}},
		{"narrative missing status", `{"resourceType":"Patient","text":{"div":"` + div + `hi</div>"}}`, []finding{{"required", "Patient.text.status"}}},
		{"extension without url", `{"resourceType":"Patient","extension":[{"valueString":"a"}]}`, []finding{{"required", "Patient.extension[0].url"}}},
		{"extension with value and extensions", `{"resourceType":"Patient","extension":[{"url":"http://x","valueString":"a","extension":[{"url":"y","valueCode":"b"}]}]}`, []finding{{"invariant", "Patient.extension[0]"}}},
		{"extension without value", `{"resourceType":"Patient","extension":[{"url":"http://x"}]}`, []finding{{"invariant", "Patient.extension[0]"}}},
		{"extension bad value type", `{"resourceType":"Patient","extension":[{"url":"http://x","valueFoo":"a"}]}`, []finding{{"structure", "Patient.extension[0].valueFoo"}}},
		{"modifierExtension on datatype", `{"resourceType":"Patient","name":[{"modifierExtension":[{"url":"http://x","valueString":"a"}]}]}`, []finding{{"structure", "Patient.name[0].modifierExtension"}}},
		{"bad uri", `{"resourceType":"Patient","meta":{"profile":["http://a b"]}}`, []finding{{"value", "Patient.meta.profile[0]"}}},
		{"bad oid", `{"resourceType":"Patient","extension":[{"url":"http://x","valueOid":"urn:oid:9.9"}]}`, []finding{{"value", "Patient.extension[0].valueOid"}}},
		{"bad base64", `{"resourceType":"Binary","contentType":"text/plain","data":"abc"}`, []finding{{"value", "Binary.data"}}},
		{"unknown element in meta", `{"resourceType":"Patient","meta":{"version":"1"}}`, []finding{{"structure", "Patient.meta.version"}}},
		{"resourceType inside datatype", `{"resourceType":"Patient","name":[{"resourceType":"HumanName"}]}`, []finding{{"structure", "Patient.name[0].resourceType"}}},
		{"contained not an object", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":["x"]}`, []finding{{"structure", "Observation.contained[0]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := v.Validate(decode(t, []byte(tt.json)))
			var got []finding
			for _, is := range issues {
				if is.Severity == "error" {
					got = append(got, finding{is.Code, is.Expression[0]})
				}
			}
			// A trailing '*' in a wanted expression matches any suffix.
			match := cmp.Comparer(func(a, b string) bool {
				if p, ok := strings.CutSuffix(a, "*"); ok {
					return strings.HasPrefix(b, p)
				}
				if p, ok := strings.CutSuffix(b, "*"); ok {
					return strings.HasPrefix(a, p)
				}
				return a == b
			})
			if diff := cmp.Diff(tt.want, got, match); diff != "" {
				t.Errorf("issues (-want +got):\n%s\nall: %s", diff, formatIssues(issues))
			}
		})
	}
}
