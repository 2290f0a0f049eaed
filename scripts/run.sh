#!/usr/bin/env bash
# Starts every component under honcho; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
procfile=${1:-Procfile}
# The ports reach every process: Rasa reads ACTION_PORT in its endpoints file, and the console
# and the bot find Rasa through RASA_URL (and the console the action server through
# ACTION_SERVER_URL).
export RASA_PORT=${RASA_PORT:-5005} ACTION_PORT=${ACTION_PORT:-5055} CONSOLE_PORT=${CONSOLE_PORT:-8000}
export RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$ACTION_PORT}
# Rasa sends HOTLINE_ACTION_TOKEN to the action server (endpoints*.yml read it from the
# environment, so it must be set); the development default comes from hotline/config.py, and
# HOTLINE_ENV=production refuses it. RASA_TOKEN needs no export: every process reads the same
# default from hotline/config.py (rasa_runtime passes it to Rasa as --jwt-secret).
export HOTLINE_ACTION_TOKEN=${HOTLINE_ACTION_TOKEN:-$(.venv/bin/python -c 'import hotline.config as c; print(c.DEV_ACTION_TOKEN)')}
read -r -a procs <<<"$(grep -oE '^[a-z_-]+' "$procfile" | grep -v '^bot$' | paste -sd' ' -)"
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then
  procs+=(bot)
  bot_note="Telegram bot:        started (polling${TELEGRAM_WEBHOOK_URL:+, webhook $TELEGRAM_WEBHOOK_URL})"
else
  bot_note="Telegram bot:        not started (set TELEGRAM_BOT_TOKEN to start it)"
fi
cat <<MSG

  Community service hotline
  Operator console:    http://127.0.0.1:${CONSOLE_PORT:-8000}/
  Resident web chat:   http://127.0.0.1:${CONSOLE_PORT:-8000}/chat
  Rasa server:         http://127.0.0.1:${RASA_PORT:-5005}/  (REST channel: /webhooks/rest/webhook)
  Action server:       http://127.0.0.1:${ACTION_PORT:-5055}/health
  $bot_note
  Case database:       ${HOTLINE_DATABASE_URL}
  Create an operator:  .venv/bin/hotline user add NAME --role operator   (password on stdin)
  Stop everything:     Ctrl-C

MSG
exec .venv/bin/honcho start -f "$procfile" "${procs[@]}"
