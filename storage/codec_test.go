package storage

import (
	"reflect"
	"testing"
)

func TestHeaderCodecRoundTrip(t *testing.T) {
	cases := []Headers{
		nil,
		{{"A", ""}},
		{{"X-Weird", "quote\" back\\ slash \t tab \x00 nul \x1b esc \x7f del"}, {"x-weird", "ünï©ødé"}},
		{{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}},
	}
	for _, h := range cases {
		got, err := DecodeHeaders(EncodeHeaders(h))
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		if len(h) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, h) {
			t.Fatalf("round trip %q -> %q", h, got)
		}
	}
}

func TestInvalidUTF8StaysVisible(t *testing.T) {
	h := Headers{{"X", "a\xffb"}}
	got, err := DecodeHeaders(EncodeHeaders(h))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Value != "a\xffb" {
		t.Fatalf("invalid byte decoded as %q", got[0].Value)
	}
}

func FuzzHeaderCodec(f *testing.F) {
	f.Add("Origin", "https://evil.example")
	f.Add("X\"", "\\\x00\xff")
	f.Fuzz(func(t *testing.T, name, value string) {
		enc := EncodeHeaders(Headers{{name, value}, {value, name}})
		got, err := DecodeHeaders(enc)
		if err != nil {
			t.Fatalf("decode own encoding %q: %v", enc, err)
		}
		if len(got) != 2 || got[0].Name != name || got[0].Value != value || got[1].Name != value {
			t.Fatalf("round trip of %q %q gave %q", name, value, got)
		}
		// Arbitrary text must never panic the decoder either.
		DecodeHeaders(value)
	})
}
