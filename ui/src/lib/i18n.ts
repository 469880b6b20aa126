// A deliberately small translation layer: two languages, flat keys, `{name}` placeholders.
//
// Bahasa Indonesia is the default, because gate staff are the first users; English is the other
// choice. Every key must exist in both tables: `Messages` below is derived from the Indonesian one
// and the English one must satisfy it, so a missing key is a type error, not a blank label.
//
// `t()` is reactive in Svelte templates and effects (through `createSubscriber`): switching the
// language redraws every text in place, without remounting a screen or losing what is typed.

import { get, writable } from 'svelte/store';
import { createSubscriber } from 'svelte/reactivity';

export type Lang = 'id' | 'en';

export const LANGS: readonly Lang[] = ['id', 'en'];

const id = {
  'app.name': 'Gerbang',
  'app.tagline': 'Check-in pintu masuk acara',
  'app.starting': 'Menyiapkan gerbang…',
  'app.startFailed': 'Gerbang tidak bisa dimulai',
  'app.retry': 'Coba lagi',
  'app.noEvent': 'Belum ada acara',
  'lang.switch': 'English',
  'lang.switchLabel': 'Ganti bahasa ke English',
  'lang.id': 'Bahasa Indonesia',
  'lang.en': 'English',

  'nav.scan': 'Pindai',
  'nav.dashboard': 'Dasbor',
  'nav.log': 'Log',
  'nav.messages': 'Pesan',
  'nav.settings': 'Setelan',
  'nav.label': 'Navigasi utama',
  'nav.unread': '{count} pesan belum dibaca',

  'link.online': 'Daring',
  'link.connecting': 'Menghubungkan',
  'link.offline': 'Luring',
  'link.refused': 'Ditolak relay',
  'link.stopped': 'Tidak terhubung',
  'status.outbox': 'Tertunda',
  'status.outboxTitle': 'Pindaian yang belum diterima relay',
  'status.lastSync': 'Sinkron',
  'status.never': 'belum pernah',
  'status.justNow': 'baru saja',
  'status.secondsAgo': '{n} dtk lalu',
  'status.minutesAgo': '{n} mnt lalu',
  'status.hoursAgo': '{n} jam lalu',
  'status.snapshotDownloading': 'Mengunduh data acara… {done}',
  'status.snapshotApplying': 'Memasang data acara… {percent}%',
  'banner.offline':
    'Luring: pindaian tetap diperiksa dan disimpan di laptop ini, lalu dikirim saat jaringan kembali.',
  'banner.refused': 'Relay menolak perangkat ini: {error}. Pasangkan ulang di Setelan.',
  'banner.stopped': 'Gerbang ini belum terhubung ke relay. Pasangkan atau jadi tuan rumah di Setelan.',

  'direction.entry': 'Masuk',
  'direction.exit': 'Keluar',
  'direction.label': 'Mode pintu',

  'scan.ready': 'Siap memindai',
  'scan.hint': 'Pindai tiket dengan pemindai barcode, atau ketik kodenya di bawah.',
  'scan.areaLabel': 'Area pemindaian',
  'scan.noCamera': 'Kamera belum tersedia',
  'scan.hintCamera': 'Arahkan QR tiket ke kamera, pindai dengan pemindai barcode, atau ketik kodenya di bawah.',
  'camera.starting': 'Menyalakan kamera…',
  'camera.running': 'Kamera: {name}',
  'camera.no_camera': 'Tidak ada kamera',
  'camera.busy': 'Kamera dipakai aplikasi lain',
  'camera.disconnected': 'Kamera terputus',
  'camera.error': 'Kamera bermasalah',
  'camera.ended': 'Kamera berhenti',
  'camera.stopped': 'Kamera dimatikan',
  'scan.manualLabel': 'Ketik kode tiket',
  'scan.manualPlaceholder': 'Kode tiket',
  'scan.check': 'Periksa',
  'scan.searchLabel': 'Cari nama pemegang tiket',
  'scan.searchPlaceholder': 'Nama atau nomor tiket',
  'scan.searching': 'Mencari…',
  'scan.noMatches': 'Tidak ada tiket yang cocok dengan “{query}”.',
  'scan.matches': '{count} tiket cocok',
  'scan.clearSearch': 'Tutup pencarian',
  'scan.useBarcode': 'Pindai barcode ini',
  'scan.neverAdmitted': 'Belum pernah masuk',
  'scan.insideSince': 'Di dalam sejak {time} · {gate}',
  'scan.leftAt': 'Keluar {time} · {gate}',
  'scan.revoked': 'Dibatalkan',
  'scan.ticketNo': 'Tiket #{id}',
  'scan.supervisorTitle': 'Perangkat pengawas',
  'scan.supervisorBody':
    'Perangkat ini dipasangkan sebagai pengawas, jadi tidak bisa memindai tiket. Pantau acara di Dasbor.',
  'scan.firstRunTitle': 'Belum ada pindaian',
  'scan.firstRunBody': 'Cetak tiket demo lalu pindai salah satunya untuk mencoba gerbang ini.',
  'scan.firstRunAction': 'Buka tiket demo',
  'scan.recent': 'Pindaian terakhir di gerbang ini',
  'scan.noRecent': 'Hasil pindaian muncul di sini.',
  'scan.failed': 'Pindaian gagal: {error}',
  'scan.keysScreens': 'pindah layar',
  'scan.keysClose': 'tutup hasil',

  'counter.admitted': 'Sudah masuk',
  'counter.inside': 'Di dalam',
  'counter.capacityLeft': 'Sisa kapasitas',
  'counter.noCapacity': 'tanpa batas',
  'counter.issued': 'Tiket terbit',
  'counter.gateAdmitted': 'Masuk di sini',
  'counter.gateExits': 'Keluar di sini',
  'counter.gateRefused': 'Ditolak di sini',
  'counter.event': 'Acara',
  'counter.thisGate': 'Gerbang ini',

  'verdict.admitted': 'Silakan masuk',
  'verdict.exit_recorded': 'Keluar tercatat',
  'verdict.already_used': 'Tiket sudah dipakai',
  'verdict.unknown_ticket': 'Tiket tidak dikenal',
  'verdict.malformed': 'Kode tidak terbaca',
  'verdict.forged': 'Tiket palsu',
  'verdict.revoked': 'Tiket dibatalkan',
  'verdict.wrong_event': 'Tiket acara lain',
  'verdict.type_not_allowed': 'Bukan pintu untuk tiket ini',
  'verdict.not_yet_valid': 'Tiket belum berlaku',
  'verdict.expired': 'Tiket kedaluwarsa',
  'verdict.entries_exhausted': 'Jatah masuk habis',
  'verdict.hall_full': 'Aula penuh',
  'verdict.not_inside': 'Tidak tercatat di dalam',
  'verdictDetail.admitted': 'Tiket sah. Selamat datang!',
  'verdictDetail.exit_recorded': 'Sampai jumpa! Keluarnya sudah dicatat.',
  'verdictDetail.already_used': 'Tiket ini sudah dipakai masuk sebelumnya.',
  'verdictDetail.already_usedAt': 'Sudah masuk pukul {time} di {gate}.',
  'verdictDetail.unknown_ticket': 'Kode ini tidak ada di daftar tiket acara. Panggil pengawas.',
  'verdictDetail.malformed': 'Ini bukan kode tiket yang utuh. Pindai ulang atau ketik kodenya.',
  'verdictDetail.forged': 'Tanda tangan tiket tidak sah. Jangan izinkan masuk; panggil pengawas.',
  'verdictDetail.revoked': 'Penyelenggara sudah membatalkan tiket ini.',
  'verdictDetail.wrong_event': 'Tiket ini untuk acara lain.',
  'verdictDetail.type_not_allowed':
    'Jenis tiket ini tidak diterima di pintu ini. Arahkan ke pintu yang sesuai.',
  'verdictDetail.not_yet_valid': 'Tiket ini belum berlaku pada jam ini.',
  'verdictDetail.expired': 'Masa berlaku tiket ini sudah lewat.',
  'verdictDetail.entries_exhausted': 'Tiket ini sudah dipakai sebanyak yang diizinkan.',
  'verdictDetail.hall_full': 'Kapasitas sudah tercapai. Tunggu sampai ada yang keluar.',
  'verdictDetail.not_inside': 'Tiket ini tidak tercatat masuk, jadi keluarnya tidak dicatat.',
  'verdict.holderHidden': 'Pemegang tiket',
  'verdict.duplicate': 'Kode yang sama terbaca lagi; tidak dicatat dua kali.',
  'verdict.dismiss': 'Tutup (Esc)',

  'dash.title': 'Dasbor',
  'dash.arrivals': 'Kedatangan per 5 menit',
  'dash.arrivalsEmpty': 'Belum ada kedatangan dalam 4 jam terakhir.',
  'dash.total': 'Total',
  'dash.gates': 'Arus per gerbang',
  'dash.gate': 'Gerbang',
  'dash.admitted': 'Masuk',
  'dash.exits': 'Keluar',
  'dash.refused': 'Ditolak',
  'dash.lastMinute': 'Menit terakhir',
  'dash.lastScan': 'Pindaian terakhir',
  'dash.noGates': 'Belum ada gerbang yang memindai.',
  'dash.conflicts': 'Konflik',
  'dash.noConflicts': 'Tidak ada konflik. Bagus!',
  'dash.alerts': 'Peringatan',
  'dash.noAlerts': 'Tidak ada peringatan.',
  'dash.liveFrom': 'Angka langsung dari relay, {time}',
  'dash.localFigures': 'Angka dari data gerbang ini',
  'dash.conflictRow': '{holder} · {gate} · {time}',

  'toast.remoteScan': '{gate}: {verdict}',
  'toast.remoteScans': '{count} pindaian di gerbang lain',
  'toast.remoteScansBody': 'Terakhir: {gate}, {verdict}',
  'toast.conflict': 'Konflik di {gate}',
  'toast.conflictBody': 'Tiket dipindai dua kali di gerbang berbeda saat luring.',
  'toast.settledConflict': 'Relay menandai pindaian gerbang ini',
  'toast.settledBody': 'Keputusan resmi: {verdict}',
  'toast.alert': 'Peringatan',
  'toast.message': 'Pesan dari {from}',
  'toast.close': 'Tutup notifikasi',
  'toast.region': 'Notifikasi',

  'log.title': 'Log kehadiran',
  'log.search': 'Cari nama, kode, atau nomor tiket',
  'log.gate': 'Gerbang',
  'log.allGates': 'Semua gerbang',
  'log.from': 'Dari',
  'log.to': 'Sampai',
  'log.direction': 'Arah',
  'log.allDirections': 'Semua arah',
  'log.verdicts': 'Hasil',
  'log.allVerdicts': 'Semua hasil',
  'log.verdictsChosen': '{count} hasil dipilih',
  'log.conflictsOnly': 'Hanya konflik',
  'log.clear': 'Hapus filter',
  'log.total': '{count} pindaian',
  'log.time': 'Waktu',
  'log.holder': 'Pemegang',
  'log.type': 'Jenis',
  'log.verdict': 'Hasil',
  'log.loading': 'Memuat…',
  'log.empty': 'Tidak ada pindaian yang cocok dengan filter ini.',
  'log.export': 'Ekspor CSV',
  'log.exporting': 'Mengekspor… {done} dari {total}',
  'log.exported': '{count} baris diekspor ke {path}',
  'log.exportFailed': 'Ekspor gagal: {error}',
  'log.exportName': 'kehadiran',
  'log.csvFiles': 'Berkas CSV',
  'log.history': 'Riwayat tiket #{id}',
  'log.historyClose': 'Tutup riwayat',
  'log.historyEmpty': 'Tiket ini belum pernah dipindai.',
  'log.unknownHolder': 'Tanpa nama',
  'log.conflict': 'Konflik',
  'log.remote': 'dari gerbang lain',
  'log.official': 'Resmi: {verdict}',
  'log.localWas': 'Keputusan gerbang: {verdict}',
  'log.loadFailed': 'Log tidak bisa dimuat: {error}',
  'log.rowsLabel': 'Daftar pindaian',

  'msg.title': 'Pesan',
  'msg.empty': 'Belum ada pesan. Pesan antar gerbang dan pengawas muncul di sini.',
  'msg.to': 'Kepada',
  'msg.everyone': 'Semua gerbang',
  'msg.toGate': 'Hanya {gate}',
  'msg.placeholder': 'Tulis pesan untuk petugas lain…',
  'msg.send': 'Kirim',
  'msg.sendHint': 'Ctrl+Enter untuk mengirim',
  'msg.sent': 'Pesan terkirim.',
  'msg.sendFailed': 'Pesan tidak terkirim: {error}',
  'msg.chars': '{count}/500',
  'msg.fromTo': '{from} → {to}',
  'msg.fromAll': '{from} → semua',
  'msg.you': 'Anda',
  'msg.loadFailed': 'Pesan tidak bisa dimuat: {error}',
  'msg.toCustom': 'Gerbang lain…',
  'msg.customGate': 'Nama gerbang',

  'set.title': 'Setelan',
  'set.gate': 'Gerbang ini',
  'set.gateName': 'Nama gerbang',
  'set.gateNameHelp': 'Nama yang dilihat gerbang lain dan tercatat di log, misalnya “Gerbang A”.',
  'set.direction': 'Mode',
  'set.types': 'Jenis tiket yang diterima',
  'set.typesHelp': 'Tanpa centang sama sekali berarti semua jenis diterima.',
  'set.noTypes': 'Acara belum punya jenis tiket.',
  'set.save': 'Simpan',
  'set.saved': 'Tersimpan.',
  'set.saveFailed': 'Tidak tersimpan: {error}',
  'set.prefs': 'Tampilan dan suara',
  'set.language': 'Bahasa',
  'set.sounds': 'Bunyi untuk setiap hasil pindaian',
  'set.soundsTest': 'Coba bunyi',
  'set.hideNames': 'Sembunyikan nama pemegang tiket di layar pindai',
  'set.connection': 'Koneksi relay',
  'set.relay': 'Relay',
  'set.state': 'Status',
  'set.lastError': 'Masalah terakhir',
  'set.role': 'Peran perangkat',
  'set.role.gate': 'Gerbang',
  'set.role.supervisor': 'Pengawas',
  'set.role.admin': 'Admin',
  'set.pair': 'Pasangkan dengan relay',
  'set.pairHelp':
    'Tempel teks pasangan dari laptop tuan rumah (diawali gerbang://pair?). Laptop ini berhenti menjadi tuan rumah.',
  'set.pairPlaceholder': 'gerbang://pair?…',
  'set.pairSubmit': 'Pasangkan',
  'set.pairing': 'Memasangkan…',
  'set.paired': 'Terpasang sebagai “{name}”.',
  'set.pairFailed': 'Gagal memasangkan: {error}',
  'set.pairCamera': 'Atau arahkan QR pasangan dari laptop tuan rumah ke kamera: teksnya muncul di sini.',
  'set.pairCameraRead': 'Kamera membaca kode pasangan. Periksa lalu tekan Pasangkan.',
  'set.camera': 'Kamera',
  'set.cameraUse': 'Pindai dengan kamera',
  'set.cameraChoose': 'Kamera yang dipakai',
  'set.cameraFirst': 'Kamera pertama yang ditemukan',
  'set.cameraNone': 'Tidak ada kamera terpasang. Pemindai USB dan ketik manual tetap bisa dipakai.',
  'set.cameraRefresh': 'Cari kamera lagi',
  'set.host': 'Jadi tuan rumah relay',
  'set.hostHelp':
    'Laptop ini menjalankan relay untuk acara; gerbang dan pengawas lain bergabung lewat kode pasangan.',
  'set.hostStart': 'Jadikan laptop ini tuan rumah',
  'set.hostStarting': 'Memulai relay…',
  'set.hostFailed': 'Relay tidak bisa dimulai: {error}',
  'set.hosting': 'Laptop ini tuan rumah relay di {url}',
  'set.offer': 'Undang perangkat lain',
  'set.offerHelp': 'Pilih peran, lalu pindai QR ini atau salin teksnya di perangkat lain.',
  'set.offerGate': 'Kode untuk gerbang',
  'set.offerSupervisor': 'Kode untuk pengawas',
  'set.offerExpires': 'Sekali pakai, berlaku {minutes} menit.',
  'set.offerFailed': 'Kode pasangan tidak bisa dibuat: {error}',
  'set.copy': 'Salin',
  'set.copied': 'Tersalin',
  'set.demo': 'Tiket demo',
  'set.demoHelp': 'Cetak tiket contoh untuk mencoba pemindaian dalam satu menit.',
  'set.demoOpen': 'Lihat dan cetak tiket demo',
  'set.about': 'Tentang',
  'set.dataDir': 'Folder data',

  'demo.title': 'Tiket demo',
  'demo.back': 'Kembali ke Setelan',
  'demo.print': 'Cetak',
  'demo.prev': 'Sebelumnya',
  'demo.next': 'Berikutnya',
  'demo.page': 'Tiket {first}–{last}',
  'demo.help': 'Pindai QR ini dari layar ponsel atau kertas cetak. Setiap tiket hanya boleh masuk sekali.',
  'demo.failed': 'Tiket demo tidak bisa dibuat: {error}',
  'demo.loading': 'Membuat tiket…',
  'demo.notHosting': 'Tiket demo dibuat oleh laptop tuan rumah relay. Buka halaman ini di laptop itu.',

  'common.yes': 'Ya',
  'common.no': 'Tidak',
  'common.close': 'Tutup',
  'common.none': '—',

  'footer.version': 'Versi {version}',
  'footer.versionUnknown': 'Versi tidak diketahui',
} as const;

export type MessageKey = keyof typeof id;
type Messages = Record<MessageKey, string>;

const en: Messages = {
  'app.name': 'Gerbang',
  'app.tagline': 'Event entrance check-in',
  'app.starting': 'Getting the gate ready…',
  'app.startFailed': 'Gerbang could not start',
  'app.retry': 'Try again',
  'app.noEvent': 'No event yet',
  'lang.switch': 'Bahasa Indonesia',
  'lang.switchLabel': 'Switch language to Bahasa Indonesia',
  'lang.id': 'Bahasa Indonesia',
  'lang.en': 'English',

  'nav.scan': 'Scan',
  'nav.dashboard': 'Dashboard',
  'nav.log': 'Log',
  'nav.messages': 'Messages',
  'nav.settings': 'Settings',
  'nav.label': 'Main navigation',
  'nav.unread': '{count} unread messages',

  'link.online': 'Online',
  'link.connecting': 'Connecting',
  'link.offline': 'Offline',
  'link.refused': 'Refused by relay',
  'link.stopped': 'Not connected',
  'status.outbox': 'Outbox',
  'status.outboxTitle': 'Scans the relay has not received yet',
  'status.lastSync': 'Synced',
  'status.never': 'never',
  'status.justNow': 'just now',
  'status.secondsAgo': '{n} s ago',
  'status.minutesAgo': '{n} min ago',
  'status.hoursAgo': '{n} h ago',
  'status.snapshotDownloading': 'Downloading event data… {done}',
  'status.snapshotApplying': 'Loading event data… {percent}%',
  'banner.offline':
    'Offline: scans are still checked and kept on this laptop, and sent when the network is back.',
  'banner.refused': 'The relay refused this device: {error}. Pair again in Settings.',
  'banner.stopped': 'This gate is not connected to a relay. Pair it or host one in Settings.',

  'direction.entry': 'Entry',
  'direction.exit': 'Exit',
  'direction.label': 'Gate mode',

  'scan.ready': 'Ready to scan',
  'scan.hint': 'Scan a ticket with the barcode scanner, or type its code below.',
  'scan.areaLabel': 'Scanning area',
  'scan.noCamera': 'No camera yet',
  'scan.hintCamera': 'Hold the ticket QR up to the camera, scan it with a barcode scanner, or type its code below.',
  'camera.starting': 'Starting the camera…',
  'camera.running': 'Camera: {name}',
  'camera.no_camera': 'No camera',
  'camera.busy': 'The camera is in use by another app',
  'camera.disconnected': 'Camera disconnected',
  'camera.error': 'Camera problem',
  'camera.ended': 'The camera stopped',
  'camera.stopped': 'Camera off',
  'scan.manualLabel': 'Type a ticket code',
  'scan.manualPlaceholder': 'Ticket code',
  'scan.check': 'Check',
  'scan.searchLabel': 'Find a ticket holder',
  'scan.searchPlaceholder': 'Name or ticket number',
  'scan.searching': 'Searching…',
  'scan.noMatches': 'No ticket matches “{query}”.',
  'scan.matches': '{count} matching tickets',
  'scan.clearSearch': 'Close search',
  'scan.useBarcode': 'Scan this barcode',
  'scan.neverAdmitted': 'Not admitted yet',
  'scan.insideSince': 'Inside since {time} · {gate}',
  'scan.leftAt': 'Left at {time} · {gate}',
  'scan.revoked': 'Revoked',
  'scan.ticketNo': 'Ticket #{id}',
  'scan.supervisorTitle': 'Supervisor device',
  'scan.supervisorBody':
    'This device is paired as a supervisor, so it cannot scan tickets. Follow the event on the Dashboard.',
  'scan.firstRunTitle': 'No scans yet',
  'scan.firstRunBody': 'Print the demo tickets and scan one to try this gate.',
  'scan.firstRunAction': 'Open demo tickets',
  'scan.recent': 'Latest scans at this gate',
  'scan.noRecent': 'Scan results appear here.',
  'scan.failed': 'The scan failed: {error}',
  'scan.keysScreens': 'switch screens',
  'scan.keysClose': 'close the verdict',

  'counter.admitted': 'Admitted',
  'counter.inside': 'Inside now',
  'counter.capacityLeft': 'Capacity left',
  'counter.noCapacity': 'no limit',
  'counter.issued': 'Tickets issued',
  'counter.gateAdmitted': 'Admitted here',
  'counter.gateExits': 'Exits here',
  'counter.gateRefused': 'Refused here',
  'counter.event': 'Event',
  'counter.thisGate': 'This gate',

  'verdict.admitted': 'Admitted',
  'verdict.exit_recorded': 'Exit recorded',
  'verdict.already_used': 'Already used',
  'verdict.unknown_ticket': 'Unknown ticket',
  'verdict.malformed': 'Unreadable code',
  'verdict.forged': 'Forged ticket',
  'verdict.revoked': 'Ticket revoked',
  'verdict.wrong_event': 'Wrong event',
  'verdict.type_not_allowed': 'Not this gate',
  'verdict.not_yet_valid': 'Not valid yet',
  'verdict.expired': 'Ticket expired',
  'verdict.entries_exhausted': 'No entries left',
  'verdict.hall_full': 'Hall full',
  'verdict.not_inside': 'Not inside',
  'verdictDetail.admitted': 'Valid ticket. Welcome!',
  'verdictDetail.exit_recorded': 'Goodbye! The exit is recorded.',
  'verdictDetail.already_used': 'This ticket was already used to enter.',
  'verdictDetail.already_usedAt': 'Admitted at {time} at {gate}.',
  'verdictDetail.unknown_ticket': "This code is not in the event's ticket list. Call a supervisor.",
  'verdictDetail.malformed': 'This is not a complete ticket code. Scan again or type the code.',
  'verdictDetail.forged': "The ticket's signature is not valid. Do not admit; call a supervisor.",
  'verdictDetail.revoked': 'The organiser cancelled this ticket.',
  'verdictDetail.wrong_event': 'This ticket is for another event.',
  'verdictDetail.type_not_allowed':
    'This ticket type is not admitted at this gate. Send them to the right one.',
  'verdictDetail.not_yet_valid': 'This ticket is not valid at this time yet.',
  'verdictDetail.expired': 'This ticket is no longer valid.',
  'verdictDetail.entries_exhausted': 'This ticket has been used as many times as it allows.',
  'verdictDetail.hall_full': 'The hall is at capacity. Wait until someone leaves.',
  'verdictDetail.not_inside': 'This ticket was not recorded entering, so no exit is recorded.',
  'verdict.holderHidden': 'Ticket holder',
  'verdict.duplicate': 'The same code was read again; it was not recorded twice.',
  'verdict.dismiss': 'Close (Esc)',

  'dash.title': 'Dashboard',
  'dash.arrivals': 'Arrivals per 5 minutes',
  'dash.arrivalsEmpty': 'No arrivals in the last 4 hours.',
  'dash.total': 'Total',
  'dash.gates': 'Throughput per gate',
  'dash.gate': 'Gate',
  'dash.admitted': 'Admitted',
  'dash.exits': 'Exits',
  'dash.refused': 'Refused',
  'dash.lastMinute': 'Last minute',
  'dash.lastScan': 'Latest scan',
  'dash.noGates': 'No gate has scanned yet.',
  'dash.conflicts': 'Conflicts',
  'dash.noConflicts': 'No conflicts. Good!',
  'dash.alerts': 'Alerts',
  'dash.noAlerts': 'No alerts.',
  'dash.liveFrom': 'Live figures from the relay, {time}',
  'dash.localFigures': "Figures from this gate's data",
  'dash.conflictRow': '{holder} · {gate} · {time}',

  'toast.remoteScan': '{gate}: {verdict}',
  'toast.remoteScans': '{count} scans at other gates',
  'toast.remoteScansBody': 'Latest: {gate}, {verdict}',
  'toast.conflict': 'Conflict at {gate}',
  'toast.conflictBody': 'A ticket was scanned at two gates while they were offline.',
  'toast.settledConflict': "The relay flagged this gate's scan",
  'toast.settledBody': 'Official verdict: {verdict}',
  'toast.alert': 'Alert',
  'toast.message': 'Message from {from}',
  'toast.close': 'Close notification',
  'toast.region': 'Notifications',

  'log.title': 'Attendance log',
  'log.search': 'Search name, code or ticket number',
  'log.gate': 'Gate',
  'log.allGates': 'All gates',
  'log.from': 'From',
  'log.to': 'To',
  'log.direction': 'Direction',
  'log.allDirections': 'Both directions',
  'log.verdicts': 'Verdicts',
  'log.allVerdicts': 'All verdicts',
  'log.verdictsChosen': '{count} verdicts chosen',
  'log.conflictsOnly': 'Conflicts only',
  'log.clear': 'Clear filters',
  'log.total': '{count} scans',
  'log.time': 'Time',
  'log.holder': 'Holder',
  'log.type': 'Type',
  'log.verdict': 'Verdict',
  'log.loading': 'Loading…',
  'log.empty': 'No scans match these filters.',
  'log.export': 'Export CSV',
  'log.exporting': 'Exporting… {done} of {total}',
  'log.exported': '{count} rows exported to {path}',
  'log.exportFailed': 'The export failed: {error}',
  'log.exportName': 'attendance',
  'log.csvFiles': 'CSV files',
  'log.history': 'History of ticket #{id}',
  'log.historyClose': 'Close history',
  'log.historyEmpty': 'This ticket has never been scanned.',
  'log.unknownHolder': 'No name',
  'log.conflict': 'Conflict',
  'log.remote': 'from another gate',
  'log.official': 'Official: {verdict}',
  'log.localWas': "The gate's verdict: {verdict}",
  'log.loadFailed': 'The log could not be loaded: {error}',
  'log.rowsLabel': 'Scans',

  'msg.title': 'Messages',
  'msg.empty': 'No messages yet. Messages between gates and supervisors appear here.',
  'msg.to': 'To',
  'msg.everyone': 'All gates',
  'msg.toGate': 'Only {gate}',
  'msg.placeholder': 'Write a message for the other staff…',
  'msg.send': 'Send',
  'msg.sendHint': 'Ctrl+Enter sends',
  'msg.sent': 'Message sent.',
  'msg.sendFailed': 'The message was not sent: {error}',
  'msg.chars': '{count}/500',
  'msg.fromTo': '{from} → {to}',
  'msg.fromAll': '{from} → everyone',
  'msg.you': 'You',
  'msg.loadFailed': 'Messages could not be loaded: {error}',
  'msg.toCustom': 'Another gate…',
  'msg.customGate': 'Gate name',

  'set.title': 'Settings',
  'set.gate': 'This gate',
  'set.gateName': 'Gate name',
  'set.gateNameHelp': 'The name other gates see and the log records, such as “Gate A”.',
  'set.direction': 'Mode',
  'set.types': 'Ticket types admitted',
  'set.typesHelp': 'With none ticked, every type is admitted.',
  'set.noTypes': 'The event has no ticket types yet.',
  'set.save': 'Save',
  'set.saved': 'Saved.',
  'set.saveFailed': 'Not saved: {error}',
  'set.prefs': 'Display and sound',
  'set.language': 'Language',
  'set.sounds': 'A sound for every scan result',
  'set.soundsTest': 'Play the sounds',
  'set.hideNames': "Hide ticket holders' names on the scan screen",
  'set.connection': 'Relay connection',
  'set.relay': 'Relay',
  'set.state': 'State',
  'set.lastError': 'Latest problem',
  'set.role': "Device's role",
  'set.role.gate': 'Gate',
  'set.role.supervisor': 'Supervisor',
  'set.role.admin': 'Admin',
  'set.pair': 'Pair with a relay',
  'set.pairHelp':
    "Paste the pairing text from the host laptop (it starts with gerbang://pair?). This laptop stops hosting.",
  'set.pairPlaceholder': 'gerbang://pair?…',
  'set.pairSubmit': 'Pair',
  'set.pairing': 'Pairing…',
  'set.paired': 'Paired as “{name}”.',
  'set.pairFailed': 'Pairing failed: {error}',
  'set.pairCamera': "Or hold the host laptop's pairing QR up to the camera: its text appears here.",
  'set.pairCameraRead': 'The camera read a pairing code. Check it, then press Pair.',
  'set.camera': 'Camera',
  'set.cameraUse': 'Scan with the camera',
  'set.cameraChoose': 'Camera to use',
  'set.cameraFirst': 'The first camera found',
  'set.cameraNone': 'No camera is connected. The USB scanner and typing still work.',
  'set.cameraRefresh': 'Look for cameras again',
  'set.host': 'Host the relay',
  'set.hostHelp':
    'This laptop runs the relay for the event; other gates and supervisors join with a pairing code.',
  'set.hostStart': 'Host the relay on this laptop',
  'set.hostStarting': 'Starting the relay…',
  'set.hostFailed': 'The relay could not start: {error}',
  'set.hosting': 'This laptop hosts the relay at {url}',
  'set.offer': 'Invite another device',
  'set.offerHelp': 'Choose a role, then scan this QR or paste its text on the other device.',
  'set.offerGate': 'Code for a gate',
  'set.offerSupervisor': 'Code for a supervisor',
  'set.offerExpires': 'Single use, valid for {minutes} minutes.',
  'set.offerFailed': 'No pairing code could be made: {error}',
  'set.copy': 'Copy',
  'set.copied': 'Copied',
  'set.demo': 'Demo tickets',
  'set.demoHelp': 'Print sample tickets to try scanning within a minute.',
  'set.demoOpen': 'View and print demo tickets',
  'set.about': 'About',
  'set.dataDir': 'Data folder',

  'demo.title': 'Demo tickets',
  'demo.back': 'Back to Settings',
  'demo.print': 'Print',
  'demo.prev': 'Previous',
  'demo.next': 'Next',
  'demo.page': 'Tickets {first}–{last}',
  'demo.help': 'Scan these QR codes from a phone screen or from paper. Each ticket enters once.',
  'demo.failed': 'Demo tickets could not be made: {error}',
  'demo.loading': 'Making tickets…',
  'demo.notHosting': 'Demo tickets are made by the laptop that hosts the relay. Open this page there.',

  'common.yes': 'Yes',
  'common.no': 'No',
  'common.close': 'Close',
  'common.none': '—',

  'footer.version': 'Version {version}',
  'footer.versionUnknown': 'Version unknown',
};

const tables: Record<Lang, Messages> = { id, en };

const STORAGE_KEY = 'gerbang.lang';

export function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGS as readonly string[]).includes(value);
}

function storedLang(): Lang {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    return isLang(value) ? value : 'id';
  } catch {
    // Storage can be unavailable (private mode, tests); the default is fine then.
    return 'id';
  }
}

/** The current language, as a store. */
export const lang = writable<Lang>(storedLang());

// Makes `t()` a reactive read inside Svelte effects: each template expression that calls it
// subscribes to `lang` and reruns when it changes.
const tracked = createSubscriber((update) => lang.subscribe(() => update()));

/** The current language, read reactively (for `{#if}`s and formatting in components). */
export function currentLang(): Lang {
  tracked();
  return get(lang);
}

/** Sets the language and remembers it for the next start. */
export function setLang(next: Lang): void {
  lang.set(next);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembering is harmless.
  }
  if (typeof document !== 'undefined') {
    document.documentElement.lang = next;
  }
}

/** Switches between Bahasa Indonesia and English. */
export function toggleLang(): void {
  setLang(get(lang) === 'id' ? 'en' : 'id');
}

/** The text for `key` in `language`, with `{name}` placeholders filled from `vars`. */
export function translate(
  language: Lang,
  key: MessageKey,
  vars: Record<string, string | number> = {},
): string {
  return tables[language][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/** The text for `key` in the current language (reactive in templates). */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  tracked();
  return translate(get(lang), key, vars);
}

/** Every key of every language, for tests that check the tables agree. */
export function keysOf(language: Lang): string[] {
  return Object.keys(tables[language]).sort();
}

/** Every placeholder name used by `key` in `language`, for tests. */
export function placeholdersOf(language: Lang, key: MessageKey): string[] {
  return [...tables[language][key].matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

/** Formats a count with the language's thousands separator (12.345 / 12,345). */
export function formatNumber(value: number): string {
  return value.toLocaleString(currentLang() === 'id' ? 'id-ID' : 'en-GB');
}
