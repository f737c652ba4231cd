package redact

// json hashes the string values of secret-named fields in JSON text
// ({"access_token": "..."}), byte-exact elsewhere. It scans tokens without
// parsing, so a body cut at the stored cap or invalid JSON is handled too.
func (r *Redactor) json(b []byte, n *int) []byte {
	var out []byte // nil until the first change
	copied := 0    // b[:copied] is in out
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		keyStart := i + 1
		keyEnd := stringEnd(b, keyStart)
		if keyEnd < 0 {
			break
		}
		i = keyEnd // at the closing quote
		j := skipSpace(b, keyEnd+1)
		if j >= len(b) || b[j] != ':' {
			continue
		}
		j = skipSpace(b, j+1)
		if j >= len(b) || b[j] != '"' || !secretParam(string(b[keyStart:keyEnd])) {
			continue
		}
		valStart := j + 1
		valEnd := stringEnd(b, valStart)
		if valEnd < 0 {
			break
		}
		i = valEnd
		before := *n
		repl := r.replace(string(b[valStart:valEnd]), n)
		if *n == before {
			continue
		}
		out = append(out, b[copied:valStart]...)
		out = append(out, repl...)
		copied = valEnd
	}
	if out == nil {
		return b
	}
	return append(out, b[copied:]...)
}

// stringEnd returns the index of the quote closing the JSON string whose
// content starts at i, or -1 when the text ends first.
func stringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
