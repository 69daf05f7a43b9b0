package protocol

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	cases := []struct {
		name string
		want ChannelKind
	}{
		{"my-channel", Public},
		{"", Public},
		{"private-foo", Private},
		{"private-", Private},
		{"private-cache-foo", Private},
		{"private-encrypted-x", Encrypted},
		{"private-encrypted-cache-x", Encrypted},
		{"presence-room", Presence},
		{"presence-cache-room", Presence},
		{"#server-to-user-1", ServerToUser},
		{"cache-foo", Public},
		// Anchored, hyphenated prefixes only (soketi and Reverb differ; see protocol.md §2.1).
		{"privatefoo", Public},
		{"my-private-x", Public},
		{"cachefoo", Public},
		{"presencelist", Public},
		{"private-encryptedfoo", Private},
		{"Private-foo", Public},
		{"#other", Public},
	}
	for _, tc := range cases {
		if got := KindOf(tc.name); got != tc.want {
			t.Errorf("KindOf(%q): got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestChannelKindString(t *testing.T) {
	cases := []struct {
		kind ChannelKind
		want string
	}{
		{Public, "public"},
		{Private, "private"},
		{Presence, "presence"},
		{Encrypted, "private-encrypted"},
		{ServerToUser, "server-to-user"},
	}
	for _, tc := range cases {
		if got := tc.kind.String(); got != tc.want {
			t.Errorf("%d.String(): got %q, want %q", int(tc.kind), got, tc.want)
		}
	}
}

func TestKindRules(t *testing.T) {
	cases := []struct {
		kind                    ChannelKind
		needsAuth, clientEvents bool
	}{
		{Public, false, false},
		{Private, true, true},
		{Presence, true, true},
		{Encrypted, true, false},
		{ServerToUser, false, false},
	}
	for _, tc := range cases {
		if got := tc.kind.NeedsAuth(); got != tc.needsAuth {
			t.Errorf("%v.NeedsAuth(): got %v, want %v", tc.kind, got, tc.needsAuth)
		}
		if got := tc.kind.AcceptsClientEvents(); got != tc.clientEvents {
			t.Errorf("%v.AcceptsClientEvents(): got %v, want %v", tc.kind, got, tc.clientEvents)
		}
	}
}

func TestIsCache(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{"cache-foo", true},
		{"private-cache-foo", true},
		{"private-encrypted-cache-foo", true},
		{"presence-cache-foo", true},
		{"foo-cache-bar", false},
		{"cachefoo", false},
		{"private-foo", false},
		{"private-encrypted-foo", false},
		{"presence-foo", false},
		{"#server-to-user-cache-1", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := IsCache(tc.name); got != tc.want {
			t.Errorf("IsCache(%q): got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidChannelName(t *testing.T) {
	cases := []struct {
		name, channel string
		want          bool
	}{
		{"simple", "my-channel", true},
		{"one char", "a", true},
		{"164 chars", strings.Repeat("a", 164), true},
		{"164 chars with prefix", "private-" + strings.Repeat("a", 156), true},
		{"165 chars", strings.Repeat("a", 165), false},
		{"165 chars with prefix", "presence-" + strings.Repeat("a", 156), false},
		{"all allowed punctuation", "-_=@,.;", true},
		{"every allowed class", "azAZ09-_=@,.;", true},
		{"empty", "", false},
		{"hash", "#foo", false},
		{"server-to-user", "#server-to-user-1", false},
		{"hash inside", "a#b", false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"colon", "a:b", false},
		{"star", "a*", false},
		{"NUL", "a\x00", false},
		{"newline", "a\n", false},
		{"non-ASCII letter", "café", false},
		{"non-ASCII digit", "١٢", false},
		{"invalid UTF-8", "a\xff", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidChannelName(tc.channel); got != tc.want {
				t.Errorf("ValidChannelName(%q): got %v, want %v", tc.channel, got, tc.want)
			}
		})
	}
}

func TestValidServerChannelName(t *testing.T) {
	cases := []struct {
		name, channel string
		want          bool
	}{
		{"public", "my-channel", true},
		{"server-to-user", "#server-to-user-1", true},
		{"server-to-user with id punctuation", "#server-to-user-a_b=c@d,e.f;g", true},
		{"server-to-user 164-char id", "#server-to-user-" + strings.Repeat("a", 164), true},
		{"server-to-user 165-char id", "#server-to-user-" + strings.Repeat("a", 165), false},
		{"server-to-user empty id", "#server-to-user-", false},
		{"server-to-user id with hash", "#server-to-user-#1", false},
		{"server-to-user id with space", "#server-to-user-a b", false},
		{"other hash channel", "#foo", false},
		{"hash prefix without hyphen", "#server-to-user1", false},
		{"165 chars", strings.Repeat("a", 165), false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidServerChannelName(tc.channel); got != tc.want {
				t.Errorf("ValidServerChannelName(%q): got %v, want %v", tc.channel, got, tc.want)
			}
		})
	}
}

func TestServerToUserChannel(t *testing.T) {
	got := ServerToUserChannel("12345")
	if want := "#server-to-user-12345"; got != want {
		t.Errorf("ServerToUserChannel: got %q, want %q", got, want)
	}
	if k := KindOf(got); k != ServerToUser {
		t.Errorf("KindOf(%q): got %v, want %v", got, k, ServerToUser)
	}
}

func TestActionFor(t *testing.T) {
	cases := []struct {
		code int
		want CloseAction
	}{
		{0, ActionNone},
		{1000, ActionNone},
		{1001, ActionNone},
		{1002, ActionBackoff},
		{1003, ActionBackoff},
		{1004, ActionBackoff},
		{1005, ActionNone},
		{1006, ActionNone},
		{3999, ActionNone},
		{4000, ActionTLSOnly},
		{4001, ActionRefused},
		{4009, ActionRefused},
		{4099, ActionRefused},
		{4100, ActionBackoff},
		{4199, ActionBackoff},
		{4200, ActionRetry},
		{4201, ActionRetry},
		{4299, ActionRetry},
		{4300, ActionRefused},
		{4301, ActionRefused},
		{4999, ActionRefused},
	}
	for _, tc := range cases {
		if got := ActionFor(tc.code); got != tc.want {
			t.Errorf("ActionFor(%d): got %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestCloseActionString(t *testing.T) {
	cases := []struct {
		a    CloseAction
		want string
	}{
		{ActionNone, "none"},
		{ActionTLSOnly, "tls-only"},
		{ActionRefused, "refused"},
		{ActionBackoff, "backoff"},
		{ActionRetry, "retry"},
		{CloseAction(99), "CloseAction(99)"},
		{CloseAction(-1), "CloseAction(-1)"},
	}
	for _, tc := range cases {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("CloseAction(%d).String(): got %q, want %q", int(tc.a), got, tc.want)
		}
	}
}

func TestCodeText(t *testing.T) {
	codes := []int{
		CodeSSLOnly, CodeAppNotFound, CodeAppDisabled, CodeOverQuota, CodePathNotFound,
		CodeInvalidVersion, CodeUnsupportedVersion, CodeNoVersion, CodeUnauthorized,
		CodeOverCapacity, CodeReconnect, CodePongNotReceived, CodeInactive,
		CodeClientEventLimit, CodeWatchlistLimit,
	}
	for _, c := range codes {
		if CodeText[c] == "" {
			t.Errorf("CodeText[%d]: got empty, want a description", c)
		}
	}
	if got, want := len(CodeText), len(codes); got != want {
		t.Errorf("len(CodeText): got %d, want %d (a code without a constant, or a constant missing here)", got, want)
	}
	// Every Code* constant declared in the package's source, so a new one cannot be forgotten.
	declared := codeConstants(t)
	if len(declared) != len(codes) {
		t.Errorf("Code* constants in source: got %d, this test lists %d", len(declared), len(codes))
	}
	for name, v := range declared {
		if CodeText[v] == "" {
			t.Errorf("CodeText[%s = %d]: got empty, want a description", name, v)
		}
	}
	// Texts the conformance suite quotes from the spec.
	spot := map[int]string{
		CodeAppNotFound:     "Application does not exist",
		CodeUnauthorized:    "Connection is unauthorized",
		CodePongNotReceived: "Pong reply not received",
		CodeOverQuota:       "Application is over connection quota",
	}
	for c, want := range spot {
		if got := CodeText[c]; got != want {
			t.Errorf("CodeText[%d]: got %q, want %q", c, got, want)
		}
	}
}

// codeConstants returns the integer constants named Code* declared in the package's non-test
// files, evaluated by go/types.
func codeConstants(t *testing.T) map[string]int {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		files = append(files, f)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	// Imports are not resolved (no importer); the errors that causes are ignored, and the
	// untyped constants still evaluate.
	conf := types.Config{Error: func(error) {}}
	_, _ = conf.Check("protocol", fset, files, info)
	out := map[string]int{}
	for id, obj := range info.Defs {
		c, ok := obj.(*types.Const)
		if !ok || !strings.HasPrefix(id.Name, "Code") || c.Parent() != c.Pkg().Scope() {
			continue
		}
		if v, ok := constant.Int64Val(c.Val()); ok {
			out[id.Name] = int(v)
		}
	}
	if len(out) == 0 {
		t.Fatal("no Code* constants found in the package source")
	}
	return out
}
