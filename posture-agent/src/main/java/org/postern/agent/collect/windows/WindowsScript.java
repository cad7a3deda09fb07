package org.postern.agent.collect.windows;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The one PowerShell script the Windows collector runs. It prints a single JSON document of
 * numbers and stable identifiers only — enum values, GUIDs, KB numbers, dates marked UTC — so a
 * German or French Windows gives the same document as an English one; the few localized texts it
 * carries (category names, exception messages) are there for a human reading a fixture, and the
 * parser never decides on them.
 *
 * <p>Each section has its own try/catch and reports {@code {hresult, message}} on failure, so a
 * Windows Update error does not hide the disk facts. Sources (learn.microsoft.com):
 * {@code windows/win32/secprov/win32-encryptablevolume} and its {@code getprotectionstatus-},
 * {@code getconversionstatus-}, {@code getencryptionmethod-} pages;
 * {@code windows/win32/api/wuapi/nn-wuapi-iupdatesearcher}, {@code …-iupdatehistoryentry},
 * {@code …-iautomaticupdatesresults} (dates are UTC).
 */
final class WindowsScript {
    /** Windows Update category "Security Updates": stable across languages, unlike its name. */
    static final String SECURITY_UPDATES_CATEGORY = "0fa1201d-4330-4fa8-8ae9-b877473b6441";

    /** How many history entries to read, newest first. */
    static final int HISTORY_ENTRIES = 200;

    static final String SCRIPT = """
            $ErrorActionPreference = 'Stop'
            [Console]::OutputEncoding = [System.Text.Encoding]::UTF8
            function Fail($e) { [ordered]@{ hresult = $e.Exception.HResult; message = $e.Exception.Message } }
            function Utc($d) { if ($null -eq $d) { $null } else { [DateTime]::SpecifyKind([DateTime]$d, 'Utc') } }
            $r = [ordered]@{ schema = 1; psVersion = $PSVersionTable.PSVersion.ToString() }
            try {
              $cv = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
              $r.os = [ordered]@{ productName = $cv.ProductName; displayVersion = $cv.DisplayVersion;
                major = $cv.CurrentMajorVersionNumber; minor = $cv.CurrentMinorVersionNumber;
                currentBuild = $cv.CurrentBuild; ubr = $cv.UBR }
            } catch { $r.osError = Fail $_ }
            try {
              $v = Get-CimInstance -Namespace 'root/cimv2/Security/MicrosoftVolumeEncryption' -ClassName Win32_EncryptableVolume -Filter "DriveLetter='$env:SystemDrive'"
              if ($null -eq $v) { $r.disk = [ordered]@{ driveLetter = $env:SystemDrive; found = $false } } else {
                $p = Invoke-CimMethod -InputObject $v -MethodName GetProtectionStatus
                $c = Invoke-CimMethod -InputObject $v -MethodName GetConversionStatus -Arguments @{ PrecisionFactor = [uint32]0 }
                $m = Invoke-CimMethod -InputObject $v -MethodName GetEncryptionMethod
                $r.disk = [ordered]@{ driveLetter = $v.DriveLetter; found = $true; volumeType = $v.VolumeType;
                  protectionStatus = $p.ProtectionStatus; protectionReturn = $p.ReturnValue;
                  conversionStatus = $c.ConversionStatus; encryptionPercentage = $c.EncryptionPercentage;
                  encryptionFlags = $c.EncryptionFlags; conversionReturn = $c.ReturnValue;
                  encryptionMethod = $m.EncryptionMethod; methodReturn = $m.ReturnValue }
              }
            } catch { $r.diskError = Fail $_ }
            try {
              $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
              $history = New-Object System.Collections.ArrayList
              $n = $searcher.GetTotalHistoryCount()
              if ($n -gt 0) {
                foreach ($h in $searcher.QueryHistory(0, [Math]::Min($n, %d))) {
                  if ($h.Operation -eq 1 -and $h.ResultCode -eq 2) {
                    $kb = $null; if ($h.Title -match 'KB(\\d+)') { $kb = [int64]$Matches[1] }
                    [void]$history.Add([ordered]@{ date = (Utc $h.Date); kb = $kb })
                  }
                }
              }
              $r.history = $history
            } catch { $r.historyError = Fail $_ }
            try {
              $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
              $searcher.Online = $false
              $found = $searcher.Search("IsInstalled=0 and Type='Software' and IsHidden=0")
              $pending = New-Object System.Collections.ArrayList
              foreach ($u in $found.Updates) {
                $cats = New-Object System.Collections.ArrayList
                foreach ($k in $u.Categories) { [void]$cats.Add([ordered]@{ id = $k.CategoryID; name = $k.Name }) }
                [void]$pending.Add([ordered]@{ kb = @($u.KBArticleIDs); deployed = (Utc $u.LastDeploymentChangeTime); categories = $cats })
              }
              $r.pending = $pending
            } catch { $r.pendingError = Fail $_ }
            try {
              $au = (New-Object -ComObject Microsoft.Update.AutoUpdate).Results
              $r.autoUpdate = [ordered]@{ lastSearchSuccess = (Utc $au.LastSearchSuccessDate); lastInstallationSuccess = (Utc $au.LastInstallationSuccessDate) }
            } catch { $r.autoUpdateError = Fail $_ }
            try {
              $r.rebootRequired = Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired'
            } catch { $r.rebootError = Fail $_ }
            $r | ConvertTo-Json -Depth 5 -Compress
            """.formatted(HISTORY_ENTRIES);

    private WindowsScript() {
    }

    /**
     * The script as {@code -EncodedCommand} wants it: Base64 of UTF-16LE. Passing it this way
     * instead of {@code -Command <script>} keeps the Windows command-line quoting rules (which
     * would mangle the script's double quotes) out of the picture.
     */
    static String encoded() {
        return Base64.getEncoder().encodeToString(SCRIPT.getBytes(StandardCharsets.UTF_16LE));
    }
}
