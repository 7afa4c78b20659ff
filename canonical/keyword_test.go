package canonical

import "testing"

func TestFoldKeyword(t *testing.T) {
	same := map[string][]string{
		"STOP":  {"stop", " Stop ", "STOP.", "sToP!", "\tstop\n"},
		"İPTAL": {"iptal", "IPTAL", "İptal", "ıptal"},
		"SAIR":  {"sair", "Saír", "SAÍR"},
		"PARAR": {"parar", "Parar"},
		"הסר":   {"הסר", " הסר ", "הָסֵר"},
	}
	for word, forms := range same {
		for _, f := range forms {
			if FoldKeyword(f) != FoldKeyword(word) {
				t.Errorf("FoldKeyword(%q) = %q, want it to equal FoldKeyword(%q) = %q", f, FoldKeyword(f), word, FoldKeyword(word))
			}
		}
	}
	for _, differ := range []string{"stop it", "stopp", "please stop", "sai"} {
		if FoldKeyword(differ) == FoldKeyword("STOP") || FoldKeyword(differ) == FoldKeyword("SAIR") {
			t.Errorf("FoldKeyword(%q) = %q matches a stop word", differ, FoldKeyword(differ))
		}
	}
}
