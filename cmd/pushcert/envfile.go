package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/joho/godotenv"
	"github.com/spf13/pflag"
)

// The environment: one name for one thing in every subcommand. PUSHCERT_KEY and PUSHCERT_SECRET,
// the names check and load read first, are still read after the new ones.
const (
	envTarget = "PUSHCERT_TARGET"
	envAPIURL = "PUSHCERT_API_URL"
	envAppID  = "PUSHCERT_APP_ID"
	envKey    = "PUSHCERT_APP_KEY"
	envSecret = "PUSHCERT_APP_SECRET"
)

// envOrOld is the first of the environment variables that is set.
func envOrOld(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// envFileValue is --env-file: a Laravel app's .env (or any dotenv file) whose broadcasting
// settings name the target. Set fills every target flag not given on the command line, at
// once, so a flag given before or after it still wins.
type envFileValue struct {
	fs   *pflag.FlagSet
	ta   *targetArgs
	path string
}

func (v *envFileValue) String() string { return v.path }
func (v *envFileValue) Type() string   { return "FILE" }

func (v *envFileValue) Set(path string) error {
	env, err := godotenv.Read(path)
	if err != nil {
		return err
	}
	s, err := laravelSettings(env)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	v.path = path
	set := func(flag string, to *string, val string) {
		if val != "" && !v.fs.Changed(flag) {
			*to = val
		}
	}
	set("target", &v.ta.WebSocketURL, s.target)
	set("api-url", &v.ta.APIURL, s.apiURL)
	set("app-id", &v.ta.AppID, s.appID)
	set("key", &v.ta.Key, s.key)
	set("secret", &v.ta.Secret, s.secret)
	v.ta.envNote = fmt.Sprintf("--env-file %s: %s, from %s", path, s.describe(), strings.Join(s.from, ", "))
	return nil
}

// broadcastSettings are the target a Laravel app is configured for.
type broadcastSettings struct {
	target, apiURL, appID, key, secret string
	from                               []string // the variables they came from
}

func (s broadcastSettings) describe() string {
	return fmt.Sprintf("--target %s --api-url %s --app-id %s --key %s --secret (%d characters)", s.target, s.apiURL, s.appID, s.key, len(s.secret))
}

// laravelSettings reads the broadcasting settings of a Laravel .env: PUSHCERT_* names first, then
// the connection BROADCAST_CONNECTION (or BROADCAST_DRIVER) names, reverb's REVERB_* or pusher's
// PUSHER_* (without one, REVERB_* when REVERB_APP_KEY is set). HOST, PORT and SCHEME make the
// target and the API URL, as Laravel's broadcaster and Echo use them; pusher's PUSHER_APP_CLUSTER
// without a PUSHER_HOST is Pusher's own service.
func laravelSettings(env map[string]string) (broadcastSettings, error) {
	var s broadcastSettings
	take := func(names ...string) string {
		for _, n := range names {
			if v := env[n]; v != "" {
				s.from = append(s.from, n)
				return v
			}
		}
		return ""
	}
	conn := strings.ToLower(take("BROADCAST_CONNECTION", "BROADCAST_DRIVER"))
	p := "PUSHER_"
	if conn == "reverb" || conn == "" && env["REVERB_APP_KEY"] != "" {
		p = "REVERB_"
	}
	if conn != "" && conn != "reverb" && conn != "pusher" {
		return s, fmt.Errorf("BROADCAST_CONNECTION is %q: pushcert tests a reverb or pusher connection", conn)
	}
	s.appID = take(envAppID, p+"APP_ID")
	s.key = take(envKey, "PUSHCERT_KEY", p+"APP_KEY")
	s.secret = take(envSecret, "PUSHCERT_SECRET", p+"APP_SECRET")
	s.target, s.apiURL = take(envTarget), take(envAPIURL)
	if s.target == "" {
		host, port, scheme := take(p+"HOST"), take(p+"PORT"), strings.ToLower(take(p+"SCHEME"))
		if host == "" && p == "PUSHER_" {
			if cluster := take("PUSHER_APP_CLUSTER"); cluster != "" {
				s.target, s.apiURL = "wss://ws-"+cluster+".pusher.com", "https://api-"+cluster+".pusher.com"
			}
		}
		if host != "" {
			if scheme == "" {
				scheme = "https"
			}
			if scheme != "http" && scheme != "https" {
				return s, fmt.Errorf("%sSCHEME is %q: want http or https", p, scheme)
			}
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[scheme]
			}
			hp := net.JoinHostPort(host, port)
			s.target = strings.Replace(scheme, "http", "ws", 1) + "://" + hp
			if s.apiURL == "" {
				s.apiURL = scheme + "://" + hp
			}
		}
	}
	if s.target == "" && s.key == "" {
		return s, fmt.Errorf("no broadcasting settings: want %sHOST, %sAPP_ID, %sAPP_KEY and %sAPP_SECRET (or PUSHCERT_TARGET and the PUSHCERT_APP_* names)", p, p, p, p)
	}
	return s, nil
}
