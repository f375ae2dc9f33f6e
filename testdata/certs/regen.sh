#!/bin/sh
# Regenerates the self-signed certificate the end-to-end tests serve (localhost, 127.0.0.1, ::1).
set -eu
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 36500 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null
