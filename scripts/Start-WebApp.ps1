#Requires -Version 7.0
<#
.SYNOPSIS
    Starts the flight-app reference application (migrate, seed, serve with gunicorn).

.DESCRIPTION
    A thin wrapper over `flight-app serve`, run through uv from the repository root:

        uv run --frozen flight-app serve --port <Port> --workers <Workers> [--tail]

    flight-app migrates the database to the newest schema, creates the default
    accounts if they are absent, then serves with gunicorn. Every other setting
    comes from the FLIGHT_APP_* environment variables and config/<APP_ENV>.toml, as
    for flight-app itself (docs/configuration.md).

    With -Tail the server runs in the background and its system log
    (system.jsonl) is streamed in the foreground; flight-app does both, following
    the log across rotations. Ctrl+C stops the log and the server together: the
    terminal's interrupt reaches flight-app, which hands it to gunicorn for a
    graceful stop, and this script waits for that (30 seconds at most, then it
    ends the process tree).

    The exit status is flight-app's: 0 after a clean stop, 2 for invalid
    settings, anything else as gunicorn reports it.

    gunicorn needs a POSIX system: run this with PowerShell 7 (pwsh) on Linux or
    macOS, or inside WSL on Windows. uv is taken from PATH, or else run as
    `python3 -m uv`.

.PARAMETER Port
    TCP port to listen on, 1-65535 (FLIGHT_APP_PORT). Default 8000.

.PARAMETER Workers
    gunicorn worker processes, 1-64 (FLIGHT_APP_WORKERS). Default 1. More than one
    needs shared rate limits: set FLIGHT_APP_RATELIMIT_STORAGE_URL=redis://...

.PARAMETER Tail
    Serve in the background and stream the system log in the foreground.

.EXAMPLE
    ./scripts/Start-WebApp.ps1

    Serves on http://127.0.0.1:8000 with one worker.

.EXAMPLE
    ./scripts/Start-WebApp.ps1 -Port 8080 -Workers 4 -Tail

    Serves on port 8080 with four workers and streams the log until Ctrl+C.

.EXAMPLE
    $env:APP_ENV = 'dev'; ./scripts/Start-WebApp.ps1 -Verbose

    Shows the exact command before running it.

.NOTES
    Operations guide: docs/operations.md; containers: docs/docker.md.
#>
[CmdletBinding()]
param(
    [Parameter()]
    [ValidateRange(1, 65535)]
    [int] $Port = 8000,

    [Parameter()]
    [ValidateRange(1, 64)]
    [int] $Workers = 1,

    [Parameter()]
    [switch] $Tail
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Seconds to wait for a graceful stop after Ctrl+C: gunicorn's graceful_timeout is 20.
$StopTimeoutSeconds = 30

$repositoryRoot = Split-Path -Parent $PSScriptRoot

$uv = Get-Command -Name 'uv' -CommandType Application -ErrorAction SilentlyContinue
if ($uv) {
    $program = $uv.Source
    $arguments = @()
}
else {
    $python = Get-Command -Name 'python3', 'python' -CommandType Application -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if (-not $python) {
        Write-Error -Message 'Neither uv nor python3 is on PATH; install uv (https://docs.astral.sh/uv/).' -Category ObjectNotFound
        exit 127
    }
    $program = $python.Source
    $arguments = @('-m', 'uv')
}

$arguments += @('run', '--frozen', 'flight-app', 'serve', '--port', "$Port", '--workers', "$Workers")
if ($Tail) {
    $arguments += '--tail'
}

Write-Verbose -Message "In $repositoryRoot`: $program $($arguments -join ' ')"

$process = Start-Process -FilePath $program -ArgumentList $arguments -WorkingDirectory $repositoryRoot -NoNewWindow -PassThru
# Reading Handle now keeps ExitCode available after the process has gone.
$null = $process.Handle

try {
    # Short waits, not one long one: PowerShell handles Ctrl+C between statements,
    # never inside a blocking .NET call.
    while (-not $process.WaitForExit(200)) {
    }
}
finally {
    # Ctrl+C ends the wait above; the same interrupt reached flight-app, which stops
    # gunicorn gracefully. Wait for that, and end the whole tree only if it hangs.
    if (-not $process.HasExited) {
        Write-Verbose -Message "Waiting up to $StopTimeoutSeconds s for flight-app to stop"
        if (-not $process.WaitForExit($StopTimeoutSeconds * 1000)) {
            Write-Warning -Message 'flight-app did not stop in time; ending it.'
            $process.Kill($true)
            $process.WaitForExit()
        }
    }
}

exit $process.ExitCode
