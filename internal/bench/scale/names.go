package scale

// Small name lists for re-identified copies. A numeric suffix is added to
// every name, as Synthea does, so names stay distinctive in searches.
var (
	femaleNames = []string{
		"Ada", "Alice", "Amara", "Beatriz", "Carmen", "Chloe", "Dana", "Elena",
		"Emma", "Fatima", "Freya", "Grace", "Hana", "Helen", "Ines", "Iris",
		"Jane", "Julia", "Kira", "Laila", "Lucia", "Maya", "Mei", "Nadia",
		"Nora", "Olga", "Paula", "Priya", "Rosa", "Sara", "Tamar", "Vera",
		"Wendy", "Yara", "Zoe", "Ruth", "Leah", "Ingrid", "Agnes", "Clara",
	}
	maleNames = []string{
		"Aaron", "Ali", "Amir", "Ben", "Carlos", "Daniel", "David", "Emil",
		"Felix", "Gabriel", "Hugo", "Ian", "Ivan", "Jamal", "Jonas", "Kenji",
		"Leo", "Luis", "Marco", "Max", "Noah", "Omar", "Oscar", "Pablo",
		"Paul", "Rafael", "Ravi", "Sam", "Tariq", "Theo", "Tomas", "Victor",
		"Walter", "Yusuf", "Zane", "Henry", "Arthur", "Lars", "Milan", "Otto",
	}
	familyNames = []string{
		"Abbott", "Alvarez", "Becker", "Brennan", "Castillo", "Chen", "Dalton",
		"Delgado", "Eriksen", "Fischer", "Fontaine", "Garcia", "Gupta", "Hale",
		"Hansen", "Ibrahim", "Ito", "Jensen", "Kaplan", "Khan", "Kowalski",
		"Larsen", "Lopez", "Marsh", "Meyer", "Molina", "Nakamura", "Novak",
		"Okafor", "Olsen", "Park", "Patel", "Quinn", "Rossi", "Santos",
		"Schmidt", "Silva", "Tanaka", "Torres", "Ueda", "Vargas", "Weber",
		"Wolfe", "Xu", "Yilmaz", "Young", "Zimmer", "Moreau", "Costa", "Byrne",
	}
	streetNames = []string{
		"Maple", "Oak", "Cedar", "Elm", "Pine", "Birch", "Willow", "Chestnut",
		"Harbor", "Hill", "Lake", "Meadow", "Mill", "Park", "River", "Spring",
		"Summit", "Valley", "Church", "School", "Union", "Washington", "Lincoln",
		"Franklin", "Highland",
	}
	streetKinds = []string{"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Way", "Place"}
)
