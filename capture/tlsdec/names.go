package tlsdec

import "crypto/tls"

// VersionName is the negotiated version for storage.Connection.TLSVersion
// ("TLS 1.3"; "" before a ServerHello).
func (i Info) VersionName() string {
	if i.Version == 0 {
		return ""
	}
	return tls.VersionName(i.Version)
}

// CipherName is the cipher suite's IANA name for storage.Connection.Cipher
// ("TLS_AES_128_GCM_SHA256"; "" before a ServerHello).
func (i Info) CipherName() string {
	if i.Version == 0 {
		return ""
	}
	return tls.CipherSuiteName(i.CipherSuite)
}
