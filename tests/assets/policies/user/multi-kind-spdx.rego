package sbom_has_components.spdx

import rego.v1

valid_input if startswith(input.spdxVersion, "SPDX-")

violations contains msg if {
	count(object.get(input, "packages", [])) < to_number(input.args.min)
	msg := concat("", ["fewer than ", input.args.min, " packages"])
}
