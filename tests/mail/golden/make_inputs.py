#!/usr/bin/env python3
"""Writes the crafted golden inputs (rewrite_*.in.eml): agents' replies as Thunderbird,
Outlook, Gmail and Apple Mail quote the forward banner. Run from this directory; the
forward_*.in.eml inputs are copies of ../messages/ plus hand-written files."""
import base64
import quopri


def w(name, s):
    open(name, 'wb').write(s.replace(b'\n', b'\r\n'))


def qp(s, cs):
    return quopri.encodestring(s.encode(cs)).decode('ascii')


B = '-- Referent EC-2026-000042 --'
E = '-- /Referent EC-2026-000042 --'
banner_lines = [B, 'Dossier EC-2026-000042 — Service État civil',
                'Usager : Élodie Marchand <elodie@example.fr>',
                'Répondez simplement à ce message : votre réponse partira sous votre nom.', E]

tb_text = '''Bonjour Madame,

Votre duplicata est prêt. Vous pouvez le retirer en mairie.
.
Cordialement,

#interne vérifier le paiement
avant remise

Le 02/03/2026 à 10:00, Élodie Marchand (EC-2026-000042) a écrit :
''' + '\n'.join('> ' + l for l in banner_lines) + '''
>
> Bonjour,
> je voudrais un duplicata.
'''
w('rewrite_thunderbird_plain_fr.in.eml', ('''From: Marie Lambert <marie.lambert@agents.mairie.example.gov>
To: "=?UTF-8?Q?=C3=89lodie_Marchand_=28EC-2026-000042=29?=" <r-7f3a9c@reponse.mairie.example.gov>
Subject: Re: [EC-2026-000042] Livret de famille
Date: Wed, 04 Mar 2026 09:00:00 +0100
Message-ID: <tb-1@agents.mairie.example.gov>
In-Reply-To: <fwd-3@gw.mairie.example.gov>
User-Agent: Mozilla Thunderbird
Received: from ws12.intra.mairie.example.gov (10.1.2.3) by mx.intra
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

''' + tb_text).encode())

outlook_html = '''<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang="FR"><div class="WordSection1"><p class="MsoNormal">Bonjour,<o:p></o:p></p><p class="MsoNormal">Votre demande est bien prise en compte.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">#interne dossier incomplet<o:p></o:p></p><p class="MsoNormal">relancer le 10<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Marie Lambert<o:p></o:p></p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>De&nbsp;:</b> Jean-François Lefèvre (EC-2026-000042) &lt;r-7f3a9c@reponse.mairie.example.gov&gt;<br><b>Envoyé&nbsp;:</b> lundi 2 mars 2026 10:00<br><b>À&nbsp;:</b> Marie Lambert &lt;marie.lambert@agents.mairie.example.gov&gt;<br><b>Objet&nbsp;:</b> [EC-2026-000042] Demande d'acte</p></div><div style="margin:0 0 1em;border:1px solid #b7c4d6"><p class="MsoNormal" style="margin:0"><span style="font-size:9.0pt;color:#555555">-- Referent EC-2026-000042 --<o:p></o:p></span></p><p class="MsoNormal"><b>Dossier EC-2026-000042</b> - Service Etat civil<o:p></o:p></p><p class="MsoNormal"><span style="font-size:9.0pt">-- /Referent EC-2026-000042 --<o:p></o:p></span></p></div><p class="MsoNormal">Bonjour, je souhaite une copie intégrale.<o:p></o:p></p></div></body></html>
'''
outlook_plain = '''Bonjour,
Votre demande est bien prise en compte.

#interne dossier incomplet
relancer le 10

Marie Lambert

De : Jean-François Lefèvre (EC-2026-000042) <r-7f3a9c@reponse.mairie.example.gov>
Envoyé : lundi 2 mars 2026 10:00
À : Marie Lambert <marie.lambert@agents.mairie.example.gov>
Objet : [EC-2026-000042] Demande d'acte

''' + '\n'.join(banner_lines).replace('—', '-').replace('É', 'E') + '''

Bonjour, je souhaite une copie intégrale.
'''
w('rewrite_outlook_html_fr.in.eml', ('''From: Marie Lambert <marie.lambert@agents.mairie.example.gov>
To: =?iso-8859-1?Q?Jean-Fran=E7ois_Lef=E8vre_=28EC-2026-000042=29?= <r-7f3a9c@reponse.mairie.example.gov>
Subject: =?iso-8859-1?Q?RE=A0:_TR:_RE:_[EC-2026-000042]_Demande_d'acte?=
Thread-Topic: [EC-2026-000042] Demande d'acte
Thread-Index: AQHZ1234567890
Date: Wed, 4 Mar 2026 08:00:00 +0000
Message-ID: <AM0PR01MB1234@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
X-MS-Has-Attach:
X-MS-Exchange-Organization-SCL: -1
X-Originating-IP: [10.1.2.3]
X-MS-Exchange-CrossTenant-id: 0000
Disposition-Notification-To: Marie Lambert <marie.lambert@agents.mairie.example.gov>
Content-Language: fr-FR
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="_000_AM0PR01MB1234_"

--_000_AM0PR01MB1234_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

''' + qp(outlook_plain, 'iso-8859-1') + '''
--_000_AM0PR01MB1234_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

''' + qp(outlook_html, 'iso-8859-1') + '''
--_000_AM0PR01MB1234_--
''').encode('latin-1'))

gmail_html = '''<div dir="ltr">Hello,<div>your appointment is confirmed for Monday.</div><div><br></div><div>#internal check the room</div><div><br></div><div>Best regards</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 2 Mar 2026 at 10:00, Daniel Brooks (EC-2026-000042) &lt;<a href="mailto:r-7f3a9c@reponse.mairie.example.gov">r-7f3a9c@reponse.mairie.example.gov</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><div class="gmail_msg"><div class="m_123referent-banner" style="margin:0 0 1em"><p style="margin:0">-- Referent EC-2026-000042 --</p><p><strong>Case EC-2026-000042</strong> — Civil status</p><p style="margin:0">-- /Referent EC-2026-000042 --</p></div><div dir="ltr">Can I get an appointment?</div></div></blockquote></div>
'''
gmail_plain = '''Hello,
your appointment is confirmed for Monday.

#internal check the room

Best regards

On Mon, 2 Mar 2026 at 10:00, Daniel Brooks (EC-2026-000042) <
r-7f3a9c@reponse.mairie.example.gov> wrote:

> -- Referent EC-2026-000042 --
> Case EC-2026-000042 — Civil status
> -- /Referent EC-2026-000042 --
>
> Can I get an appointment?
>
'''
w('rewrite_gmail_alternative_en.in.eml', ('''MIME-Version: 1.0
References: <fwd-3@gw.mairie.example.gov>
In-Reply-To: <fwd-3@gw.mairie.example.gov>
From: Marie Lambert <marie.lambert@agents.mairie.example.gov>
Date: Wed, 4 Mar 2026 09:00:00 +0100
Message-ID: <CAgmail123@mail.gmail.com>
Subject: Re: [EC-2026-000042] Appointment
To: "Daniel Brooks (EC-2026-000042)" <r-7f3a9c@reponse.mairie.example.gov>
DKIM-Signature: v=1; a=rsa-sha256; d=gmail.com; s=20230601; b=AAAA
Content-Type: multipart/alternative; boundary="000000000000abc"

--000000000000abc
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

''' + qp(gmail_plain, 'utf-8') + '''
--000000000000abc
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

''' + qp(gmail_html, 'utf-8') + '''
--000000000000abc--
''').encode())

apple_html = '''<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body style="overflow-wrap: break-word;">Bonjour,<div>ci-joint le formulaire.</div><div><br></div><div><blockquote type="cite"><div>Le 2 mars 2026 à 10:00, Hélène Garnier (EC-2026-000042) &lt;r-7f3a9c@reponse.mairie.example.gov&gt; a écrit :</div><br><div><div id="referent-banner" class="referent-banner" role="note"><p>-- Referent EC-2026-000042 --</p><p>Dossier EC-2026-000042</p><div>note</div><p>-- /Referent EC-2026-000042 --</p></div><div>Bonjour, quel formulaire ?</div></div></blockquote></div></body></html>
'''
apple_plain = '''Bonjour,
ci-joint le formulaire.

> Le 2 mars 2026 à 10:00, Hélène Garnier (EC-2026-000042) <r-7f3a9c@reponse.mairie.example.gov> a écrit :
> 
> -- Referent EC-2026-000042 --
> Dossier EC-2026-000042
> -- /Referent EC-2026-000042 --
> 
> Bonjour, quel formulaire ?
'''
pdf = base64.b64encode(b'%PDF-1.4\n' + bytes(range(256)) * 2).decode()
pdf = '\n'.join(pdf[i:i + 76] for i in range(0, len(pdf), 76))
w('rewrite_apple_mail_attachment_fr.in.eml', ('''From: Marie Lambert <marie.lambert@agents.mairie.example.gov>
Content-Type: multipart/mixed; boundary="Apple-Mail=_1"
Mime-Version: 1.0 (Mac OS X Mail 16.0)
Subject: Re: [EC-2026-000042] Rendez-vous
Date: Wed, 4 Mar 2026 09:00:00 +0100
Message-Id: <A1@agents.mairie.example.gov>
To: =?utf-8?Q?H=C3=A9l=C3=A8ne_Garnier_=28EC-2026-000042=29?= <r-7f3a9c@reponse.mairie.example.gov>
X-Mailer: Apple Mail (2.3774) ws-marie.intra.mairie.example.gov

--Apple-Mail=_1
Content-Type: multipart/alternative; boundary="Apple-Mail=_2"

--Apple-Mail=_2
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain; charset=utf-8

''' + qp(apple_plain, 'utf-8') + '''
--Apple-Mail=_2
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html; charset=utf-8

''' + qp(apple_html, 'utf-8') + '''
--Apple-Mail=_2--

--Apple-Mail=_1
Content-Disposition: attachment; filename=formulaire.pdf
Content-Type: application/pdf; name="formulaire.pdf"
Content-Transfer-Encoding: base64

''' + pdf + '''
--Apple-Mail=_1--
''').encode())

# An anonymous agent answering from Outlook: its name must vanish from every header and body.
w('rewrite_outlook_anonymous_fr.in.eml', open('rewrite_outlook_html_fr.in.eml', 'rb').read()
  .replace(b'\r\n', b'\n'))
