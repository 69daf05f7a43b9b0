package protocol_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// The credentials of the signature test vectors (protocol.md §2.3, §5.2).
const (
	vecKey    = "278d425bdf160c739803"
	vecSecret = "7ad3773142a6692b25b8"
	vecSocket = "1234.1234"
)

// The HTTP API worked example of protocol.md §5.2.
const (
	vecBody      = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	vecBodyMD5   = "ec365a775a4cd0599faeb73354201b6f"
	vecTimestamp = 1353088179
	vecPath      = "/apps/3/events"
	vecSignature = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
)

// Presence channel_data strings of the vectors, byte for byte as signed.
const (
	vecChannelsNumeric = `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`
	vecPusherNumeric   = `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`
	vecPusherString    = `{"user_id":"10","user_info":{"name":"Mr. Pusher"}}`
	vecUserData        = `{"id":"12345"}`
)

// A 32-byte encrypted-channel master key, as apps configure it (base64).
const vecMasterKeyB64 = "EOtZKuuKfaTQFT35kIcOxQFWDdHnBNiU4gF5OIgSUNE="

// vecSharedSecret was computed once, outside Go, as base64(sha256("private-encrypted-bla" || key)).
const vecSharedSecret = "8nNji1KU3SFI2XTqBcl1xhvpSlj90eCPGqXSVg8y7lo="

const vecWebhookBody = `{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}`

func masterKey() []byte {
	k, err := base64.StdEncoding.DecodeString(vecMasterKeyB64)
	if err != nil {
		panic(err)
	}
	return k
}

func ExampleHMACHex() {
	fmt.Println(protocol.HMACHex(vecSecret, "1234.1234:private-foobar"))
	// Output: 58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4
}

func ExampleChannelAuthString() {
	fmt.Println(protocol.ChannelAuthString(vecSocket, "private-foobar", ""))
	fmt.Println(protocol.ChannelAuthString(vecSocket, "presence-foobar", vecPusherString))
	// Output:
	// 1234.1234:private-foobar
	// 1234.1234:presence-foobar:{"user_id":"10","user_info":{"name":"Mr. Pusher"}}
}

func ExampleSignChannel() {
	fmt.Println(protocol.SignChannel(vecKey, vecSecret, vecSocket, "private-foobar", ""))
	fmt.Println(protocol.SignChannel(vecKey, vecSecret, vecSocket, "private-azAZ9_=@,.;", ""))
	// Output:
	// 278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4
	// 278d425bdf160c739803:208cbbce2a22fd7d7c3509046b17a97b99d345cf4c195bc0d54af9004a022b0b
}

// Presence signatures cover the exact channel_data string: a numeric and a string user_id sign
// differently.
func ExampleSignChannel_presence() {
	for _, cd := range []string{vecChannelsNumeric, vecPusherNumeric, vecPusherString} {
		fmt.Println(protocol.SignChannel(vecKey, vecSecret, vecSocket, "presence-foobar", cd))
	}
	// Output:
	// 278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80
	// 278d425bdf160c739803:afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c
	// 278d425bdf160c739803:48dac51d2d7569e1e9c0f48c227d4b26f238fa68e5c0bb04222c966909c4f7c4
}

func ExampleVerifyChannelAuth() {
	auth := "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
	fmt.Println(protocol.VerifyChannelAuth(vecKey, vecSecret, vecSocket, "private-foobar", "", auth))
	// The right signature under another key prefix is refused.
	fmt.Println(protocol.VerifyChannelAuth(vecKey, vecSecret, vecSocket, "private-foobar", "",
		"otherkey:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"))
	// Another socket id is refused.
	fmt.Println(protocol.VerifyChannelAuth(vecKey, vecSecret, "1234.1235", "private-foobar", "", auth))
	// Output:
	// true
	// false
	// false
}

func ExampleUserAuthString() {
	fmt.Println(protocol.UserAuthString(vecSocket, vecUserData))
	// Output: 1234.1234::user::{"id":"12345"}
}

func ExampleSignUser() {
	fmt.Println(protocol.SignUser(vecKey, vecSecret, vecSocket, vecUserData))
	// Output: 278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba
}

func ExampleVerifyUserAuth() {
	auth := "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
	fmt.Println(protocol.VerifyUserAuth(vecKey, vecSecret, vecSocket, vecUserData, auth))
	fmt.Println(protocol.VerifyUserAuth(vecKey, vecSecret, vecSocket, `{"id":"12346"}`, auth))
	// Output:
	// true
	// false
}

func ExampleSharedSecret() {
	fmt.Println(protocol.SharedSecret("private-encrypted-bla", masterKey()))
	// Output: 8nNji1KU3SFI2XTqBcl1xhvpSlj90eCPGqXSVg8y7lo=
}

func ExampleWebhookSignature() {
	fmt.Println(protocol.WebhookSignature(vecSecret, []byte(vecWebhookBody)))
	// Output: 709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa
}

func ExampleVerifyWebhook() {
	body := []byte(vecWebhookBody)
	sig := "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"
	fmt.Println(protocol.VerifyWebhook(vecSecret, body, sig))
	fmt.Println(protocol.VerifyWebhook("wrong-secret", body, sig))
	fmt.Println(protocol.VerifyWebhook(vecSecret, append(body, ' '), sig))
	// Output:
	// true
	// false
	// false
}

func ExampleBodyMD5() {
	fmt.Println(protocol.BodyMD5([]byte(vecBody)))
	// Output: ec365a775a4cd0599faeb73354201b6f
}

func ExampleStringToSign() {
	q := url.Values{
		"auth_key":       {vecKey},
		"auth_timestamp": {"1353088179"},
		"auth_version":   {"1.0"},
		"body_md5":       {vecBodyMD5},
		"auth_signature": {"ignored"},
	}
	fmt.Printf("%q\n", protocol.StringToSign("post", vecPath, q))
	// Output: "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
}

func ExampleSignRequest() {
	q := protocol.SignRequest(vecKey, vecSecret, http.MethodPost, vecPath, []byte(vecBody), nil, time.Unix(vecTimestamp, 0))
	fmt.Println(q.Encode())
	// Output: auth_key=278d425bdf160c739803&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f
}

func ExampleVerifyRequest() {
	q, _ := url.ParseQuery("auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0" +
		"&body_md5=ec365a775a4cd0599faeb73354201b6f" +
		"&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c")
	check := protocol.RequestCheck{
		Method: http.MethodPost, Path: vecPath, Query: q, Body: []byte(vecBody),
		Key: vecKey, Secret: vecSecret, Now: time.Unix(vecTimestamp+30, 0),
	}
	fmt.Println(protocol.VerifyRequest(check))

	check.Now = time.Unix(vecTimestamp+601, 0)
	fmt.Println(protocol.VerifyRequest(check))
	// Output:
	// <nil>
	// auth_timestamp outside the allowed window: given timestamp (1353088179) not within 600s of server time (1353088780)
}

// TestSignatureVectors checks every published vector exactly, each through the public API that
// produces it.
func TestSignatureVectors(t *testing.T) {
	channelCases := []struct {
		name, channel, channelData, wantSig string
	}{
		{"private-foobar", "private-foobar", "", "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
		{"private punctuation", "private-azAZ9_=@,.;", "", "208cbbce2a22fd7d7c3509046b17a97b99d345cf4c195bc0d54af9004a022b0b"},
		{"presence Mr. Channels numeric id", "presence-foobar", vecChannelsNumeric, "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"},
		{"presence Mr. Pusher numeric id", "presence-foobar", vecPusherNumeric, "afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"},
		{"presence Mr. Pusher string id", "presence-foobar", vecPusherString, "48dac51d2d7569e1e9c0f48c227d4b26f238fa68e5c0bb04222c966909c4f7c4"},
	}
	for _, tc := range channelCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := protocol.HMACHex(vecSecret, protocol.ChannelAuthString(vecSocket, tc.channel, tc.channelData)); got != tc.wantSig {
				t.Errorf("HMACHex: got %s, want %s", got, tc.wantSig)
			}
			wantAuth := vecKey + ":" + tc.wantSig
			if got := protocol.SignChannel(vecKey, vecSecret, vecSocket, tc.channel, tc.channelData); got != wantAuth {
				t.Errorf("SignChannel: got %s, want %s", got, wantAuth)
			}
			if !protocol.VerifyChannelAuth(vecKey, vecSecret, vecSocket, tc.channel, tc.channelData, wantAuth) {
				t.Errorf("VerifyChannelAuth(%s): got false, want true", wantAuth)
			}
		})
	}

	t.Run("user signin", func(t *testing.T) {
		const wantSig = "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
		if got, want := protocol.UserAuthString(vecSocket, vecUserData), `1234.1234::user::{"id":"12345"}`; got != want {
			t.Errorf("UserAuthString: got %s, want %s", got, want)
		}
		if got := protocol.HMACHex(vecSecret, protocol.UserAuthString(vecSocket, vecUserData)); got != wantSig {
			t.Errorf("HMACHex: got %s, want %s", got, wantSig)
		}
		if got, want := protocol.SignUser(vecKey, vecSecret, vecSocket, vecUserData), vecKey+":"+wantSig; got != want {
			t.Errorf("SignUser: got %s, want %s", got, want)
		}
		if !protocol.VerifyUserAuth(vecKey, vecSecret, vecSocket, vecUserData, vecKey+":"+wantSig) {
			t.Error("VerifyUserAuth: got false, want true")
		}
	})

	t.Run("http api worked example", func(t *testing.T) {
		body := []byte(vecBody)
		if got := protocol.BodyMD5(body); got != vecBodyMD5 {
			t.Errorf("BodyMD5: got %s, want %s", got, vecBodyMD5)
		}
		q := protocol.SignRequest(vecKey, vecSecret, "POST", vecPath, body, nil, time.Unix(vecTimestamp, 0))
		wantSTS := "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
		if got := protocol.StringToSign("POST", vecPath, q); got != wantSTS {
			t.Errorf("StringToSign: got %q, want %q", got, wantSTS)
		}
		if got := q.Get(protocol.ParamSignature); got != vecSignature {
			t.Errorf("auth_signature: got %s, want %s", got, vecSignature)
		}
		if got := protocol.HMACHex(vecSecret, wantSTS); got != vecSignature {
			t.Errorf("HMACHex(string to sign): got %s, want %s", got, vecSignature)
		}
		err := protocol.VerifyRequest(protocol.RequestCheck{
			Method: "POST", Path: vecPath, Query: q, Body: body,
			Key: vecKey, Secret: vecSecret, Now: time.Unix(vecTimestamp, 0),
		})
		if err != nil {
			t.Errorf("VerifyRequest: got %v, want nil", err)
		}
	})

	t.Run("shared secret", func(t *testing.T) {
		const channel = "private-encrypted-bla"
		key := masterKey()
		sum := sha256.Sum256(append([]byte(channel), key...))
		want := base64.StdEncoding.EncodeToString(sum[:])
		got := protocol.SharedSecret(channel, key)
		if got != want {
			t.Errorf("SharedSecret: got %s, want %s (computed)", got, want)
		}
		if got != vecSharedSecret {
			t.Errorf("SharedSecret: got %s, want %s (literal)", got, vecSharedSecret)
		}
	})

	t.Run("webhook", func(t *testing.T) {
		const want = "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"
		if got := protocol.WebhookSignature(vecSecret, []byte(vecWebhookBody)); got != want {
			t.Errorf("WebhookSignature: got %s, want %s", got, want)
		}
		if got := protocol.HMACHex(vecSecret, vecWebhookBody); got != want {
			t.Errorf("HMACHex: got %s, want %s", got, want)
		}
	})
}
