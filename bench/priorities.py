"""The "Priorities" section of BENCHMARKS.md from `triage check-priorities` reports.

`section(out)` is what bench/compose.py prints for a whole run; run as a script,
`python3 bench/priorities.py OUT BENCHMARKS.md` rewrites only that section in place (between
its markers), so the priorities can be re-measured without the whole benchmark.
"""
import json
import os
import sys

START, END = "<!-- priorities:start -->", "<!-- priorities:end -->"
TARGETS = "dangerous misses at most 5%, over-escalation at most 10%, review rate at most 25%, at least 80% of the remaining dangerous misses in the review queue"


def rate(part, whole):
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a"


def row(label, t):
    in_review = f"{100 * t['dangerous_misses_reviewed'] / t['dangerous_misses']:.0f}% ({t['dangerous_misses_reviewed']}/{t['dangerous_misses']})" if t["dangerous_misses"] else "no misses"
    return (f"| {label} | {t['tickets']} | {100 * t['agreed'] / t['tickets']:.1f}% | {rate(t['dangerous_misses'], t['belong_high'])} | "
            f"{rate(t['over_escalations'], t['belong_low'])} | {100 * t['reviewed'] / t['tickets']:.1f}% | {in_review} |")


def table(out, data_set):
    before = json.load(open(os.path.join(out, f"priorities-{data_set}-baseline.json")))
    after = json.load(open(os.path.join(out, f"priorities-{data_set}-current.json")))
    lines = ["| policy, slice | tickets | agreement | dangerous misses | over-escalation | review rate | misses in review |",
             "|---|---|---|---|---|---|---|"]
    for name, report in (("before", before), ("now", after)):
        lines.append(row(f"**{name}**, all", report["overall"]))
        for key, slice_ in list(report["by_language"].items()) + list(report["by_context"].items()):
            lines.append(row(f"{name}, {key}", slice_))
    return "\n".join(lines)


def cost(out):
    """The policy's median time per ticket under both policies, when criterion measured it."""
    paths = [os.path.join(out, f"criterion-decide-{p}.json") for p in ("default", "baseline")]
    if not all(os.path.exists(p) for p in paths):
        return "The policy's time per ticket was not measured in this run."
    now, before = (json.load(open(p))["median"]["point_estimate"] / 1e3 for p in paths)
    return (f"The policy's decision for one ticket (severity signals, impact words, level examples, matrix, rules, "
            f"review budget, SLA; `decide_single_ticket` in `benches/predict.rs`, criterion, same run) takes "
            f"{now:.1f} µs now against {before:.1f} µs before; the model's prediction with evidence "
            f"(`analyse_single_ticket`) is in the speed table above.")


def ceiling(out):
    """What any scorer reaches against dev's machine labels (bench/dev_ceiling.py), when it ran."""
    path = os.path.join(out, "dev-ceiling.json")
    if not os.path.exists(path):
        return "bench/dev_ceiling.py did not run in this run."
    lines = ["| scorer | AUC, high vs low | fewest dangerous misses at over-escalation <= 10% | fewest over-escalations at dangerous misses <= 5% |",
             "|---|---:|---:|---:|"]
    for r in json.load(open(path)):
        lines.append(f"| {r['scorer']} | {r['auc']:.3f} | {100 * r['misses_at_max_over']:.1f}% | {100 * r['over_at_max_misses']:.1f}% |")
    return "\n".join(lines)


def section(out):
    return f"""{START}
## Priorities a support lead would trust

`triage check-priorities` (the README's "How a priority is reached") on the committed default
model (with its sentence encoder and severity probe; the same sets on the sparse kind are in
"Encoder kind" below), with the default policy before this work (`bench/baseline-policy.toml`: English keyword
rules, no plan meant the free plan, every urgency abstention flagged for review) and now
(`config/policy.toml`). A dangerous miss is a ticket that belongs at P1/P2 placed at P3/P4; an
over-escalation a ticket that belongs at P3/P4 placed at P1/P2; "misses in review" is the share
of dangerous misses that are in the review queue. Targets: {TARGETS}. Produced by
`bash bench/priorities.sh` (also run by `bench/run.sh`); raw reports in `{out}`.

{cost(out)}

### The common-sense set (`data/commonsense/tickets.jsonl`, 160 tickets written for this project)

Acceptable levels per ticket written down before triage ran on them, by the rubric in
`data/commonsense/README.md`. The policy's settings (the example similarity, the matrix's
team row, the signals added after a first run) were chosen looking at this set's results, and
the default model's severity probe was fitted on it, so it flatters the policy and the model;
the holdout below does not.

{table(out, "tickets")}

### The tuning set (`data/commonsense/tuning.jsonl`, 100 symptom-phrased tickets)

Severe problems told by their symptoms ("every page is blank", "the tills can't ring anything
up"), written to extend the phrase lists where they missed; the lists were then grown looking
at its misses, and the severity probe was fitted on it, so it flatters both too
(`data/commonsense/TUNING.md`).

{table(out, "tuning")}

### The lookalikes (`data/commonsense/lookalikes.jsonl`, 100 tickets that sound worse or calmer than they are)

Alarming words over trouble that is over, planned, elsewhere or only asked about, and severe
trouble told calmly ("no rush, but none of us can log in"), written by authors who had not seen
the policy. Its first run (policy of c33525f) found 49.0% agreement, 17.5% (7/40) dangerous
misses and 76.5% (39/51) over-escalation; the policy's holding-down signals and `no-rush` were
then built looking at its disagreements, and so, in later sessions, were legal words that are
urgent only next to a date within days (`needs`), `rest-works` and the roadmap questions (84.0%
agreement and 15/51 over-escalations before those, at de52d81), then the urgency head's high
needing the probe's agreement (`severe_needs_meaning`), `works-eventually`, risk-assessment
questions as planning and the bare "das Team" / "l'équipe" no longer read as a team affected
(93.0% and 6/51 before those, at d518b6c); so it flatters the policy too
(`data/commonsense/LOOKALIKES.md`). The session after (76039d6..bed3d8b) worked from 200 new
tickets of the author's own instead (below); of this set it fixed one ticket, a question whether
a shop "vai ficar offline" during an announced migration.

{table(out, "lookalikes")}

### The fresh batches (`data/commonsense/fresh.jsonl`, 1,550 tickets in thirty-one batches of 50)

Written on 2026-12-04, a batch at a time, each before triage ran on it, with acceptable levels
by the same rubric (`data/commonsense/FRESH.md`). On their first runs (policy of 76039d6 for
batch 9, then each batch on the policy as the batches before it had left it) tickets landed
outside their levels 8, 3, 14, 6 and 7 times out of 50: one dangerous miss in each of batches 9
and 11 and none after, and 5, 3, 11, 6 and 5 over-escalations, mostly calm questions about
weighty things (certificates, what becomes of the data after cancelling, planned downtime,
penetration tests, password rules) that the severity probe reads as severe. The policy was
extended after each first run (the `how-to` cap after batch 13's), so the set flatters it;
the first runs of batches 12 and 13 (no dangerous miss in 50 severe tickets, 11 of 50 calm ones
over-escalated) are the fairest estimate here. Batches 14 and 15 (added the same day, ids 051-070)
landed outside their levels as written 7 and 3 times out of 50 on their first runs: one dangerous
miss in 40 severe tickets (a French customer seeing another company's invoices, then added to the
security list) and 4 and 3 over-escalations, of which six were enterprise or VIP how-to questions
at P2, which the rubric's step 3 allows (their sets were widened, FRESH.md) and one a one-user
problem read as a team's ("the rest of my team is fine", then added to `contained`). Batch 16
(ids 071-080), written to differ from the batches before it, did worst on its first run: 8 of 50
outside their levels, 2 dangerous misses in 20 severe tickets (both in the review queue: an
English invoice run that numbers every invoice alike, and Portuguese delivery trucks standing
still) and 6 over-escalations in 24 calm ones (questions whether announced maintenance brings
downtime, in Spanish and Portuguese, and how long deleted data is kept, in three languages, and
a VIP's wish at P2). The fleet words, the downtime questions and the data-protection paperwork
were then added to the policy in five languages; the English invoice numbering still lands at P3.
Batch 17 (ids 081-090), written the same way in other trades: 9 of 50 outside on its first run, 2
dangerous misses in 20 (both in the review queue: German concert-entry scanners an hour before
doors open, still at P3, and Spanish policyholders downloading other people's claim documents)
and 7 over-escalations in 20 (an exercise that simulates the vendor's outage, at P1 in all five
languages, and claims for last month's outages in English and German). Simulated outages and
last month's outages now hold the outage signal down, and other people's records are a possible
leak, each in five languages. Batch 18 (ids 091-100): 6 of 50 outside on its first run, no
dangerous miss in 20, and 5 over-escalations in 20, all one ticket told in five languages: a
question whether the vendor offers phishing training, read as a security incident. Training and
simulated phishing campaigns now hold the security signal down, unless someone clicked, entered
a password or was compromised. Batch 19 (ids 101-110), written with a different situation in
each language (warehouses, law firms, farms, transit gates, cinemas, airlines, tax invoices),
so that one misread phrase costs one ticket, not five: 2 of 50 outside on its first run, 1
dangerous miss in 20 (in the review queue: a Spanish member who sees other members' bank
details) and 1 over-escalation in 20 (a Spanish one-user problem whose colleagues "sí les deja",
read as a team's). Other members', tenants' and students' records are now a possible leak, and
the plural "sí les ..." forms say it works for the colleagues, each tested. Batch 20 (ids 111-120), written the
same way: 4 of 50 outside on its first run, 1 dangerous miss in 20 (in the review queue: a French
former contractor who still has access) and 3 over-escalations in 20 (an English note that a
restore test went fine, "no action needed"; a German request to confirm a deletion for data
protection, read as data loss; a Portuguese question about restore times "se houver uma queda").
Former contractors and suppliers with access are now a security incident and "no action
needed" is an all-clear, in five languages; the last two stayed, since holding down "data ..
deleted" or a supposed outage would also hold down a real loss or outage told beside them (batch
22's `supposed` later took the Portuguese one in). Batch 21
(ids 121-130): 4 of 50 outside on its first run, 1 dangerous miss in 20 (in the review queue:
Portuguese transfers "para contas que não conhecemos") and 3 over-escalations in 20, all calm
questions the severity probe read as severe (how often backups run and how long a restore takes,
in German; a French "plan de secours informatique"; a Portuguese recovery drill). Accounts "that
we don't know" are now a security sign, a recovery drill or a question about backup practice an
all-clear (which leaves data loss speaking), and an IT contingency plan planning, in five
languages. Batch 22 (ids 131-140), the same way (a radio stream, payroll deposits, platform
displays, shop scales, a veterinary clinic, pharmacies, a campsite, a delivery fleet): 6 of 50
outside on its first run, 2 dangerous misses in 20 (one in the review queue: a Portuguese clinic's
vaccination history that "sumiu do sistema"; one outside it: a Portuguese admin password "à venda
num fórum" with a login at night) and 4 over-escalations in 20 (an English question what happens
"if your platform goes down", read as an outage; a German maintenance that "ist angekündigt"; a
French "exercice de cyberattaque simulée"; a Portuguese one-user report "só para mim" whose
colleagues can see it, read as a team's). An outage only supposed in a condition on the
vendor's service is now the `supposed` signal, which holds the outage signals down unless a real
outage or a time is told beside it ("is down", "está caída", "seit 8 Uhr"); things gone "from
the system", credentials offered for sale, a simulated cyberattack, a maintenance named before
its announcement and "only for me" while the colleagues can are each read in five languages
(or in the three where the words do not turn on a negation), and tested. Batch 23 (ids 141-150),
written as e-mails with greetings and sign-offs: 5 of 50 outside on its first run, 1 dangerous
miss in 20 (in the review queue: German staff who typed their passwords into a login page that
"Ihrer sehr ähnlich sieht") and 4 over-escalations in 20 (requests for or thanks for the
vendor's incident report on a past outage, in English, German and French; a Portuguese user
whose colleagues "baixam em Excel normalmente", read as a team's). The vendor's report on an
outage ("the incident report", "den Bericht zum Ausfall", "votre rapport d'incident") is now an
all-clear, a look-alike login page a security incident, and colleagues who do it as usual the
contrast of a one-user problem unless they are hit too ("meus colegas não conseguem"). The
English "our ... service" no longer reads as a department (the French "notre service" still
does); on dev that moved one billing question labeled high from P2 to P3. Batch 24 (ids
151-160), written as chat messages (short, lower-case, often without accents): 2 of 50 outside
on its first run, 1 dangerous miss in 20 (outside the review queue: an English owner who got
2FA codes he never asked for and whose "password was changed") and 1 over-escalation in 20 (a
German one-user login problem whose colleagues "gehts gut"). A password changed in the passive
(nobody named) is now a security sign and colleagues who are fine the contrast of a one-user
problem, tested per language. Batch 25 (ids 161-170), tickets with mixed content and an
`affected_users` number instead of customer context: 5 of 50 outside on its first run, 1
dangerous miss in 20 (outside the review queue: an English store whose card reader declines
every card while "the other two stores are fine", read as one device's trouble) and 3
over-escalations in 20 (a short outage "tout est revenu depuis" and "desde então tudo funciona",
in French and Portuguese; a Portuguese one-user problem whose colleague's notebook "abre
normal"), and one French one-user display problem placed at P4 where its set says P3. Other
stores or sites that are fine now set `contained` aside, a colleague's device that works is
its contrast, "declines" and "recusa" are failing payments, and everything back "since" with
a word between is an all-clear, tested per language; the French display problem stays at P4.
Batch 26 (ids 171-180), an internal IT helpdesk and regulatory deadlines: 5 of 50 outside on its
first run, 1 dangerous miss in 20 (in the review queue: a Portuguese factory network down while
"nem computador da produção funciona", read as production being fine) and 1 over-escalation in
20 (a French legal department asking for the terms of service, its "notre service" read as a
team hit), and three VIP requests for help setting up new hires' accounts at P1 (German, Spanish,
French), outside their sets' P2 to P4. "Neither ... nor" now sets `not-production` aside, a
signal short of its `needs` words (a routine legal matter) shows no problem whose scope the
impact words could tell, and help asked with setting up or preparing accounts is a how-to
question, tested per language.
Then two dangerous misses older than these batches were read again and taken in, each as a
general rule tested in five languages: orders taken at a wrong price are lost business (a German
shop whose articles all cost 0,00 € with 200 orders "zu diesem Preis", from batch 9), and the
vendor's maintenance page shown to every visitor is an outage (the lookalike lk-pt-015, a free
plan's shop showing "Estamos em manutenção" to all visitors, unannounced; maintenance "nobody
announced" now also sets the all-clear aside). Batch 27 (ids 181-190), tone against content
(severe problems told as "small issue" or "no rush, but", trivial ones shouted "URGENT!!!"): 2
of 50 outside on its first run, both dangerous misses in the review queue (a German and a
Portuguese support mailbox answering customers by itself with a refund form "we never
created"), no over-escalation. They were left as they are: "a form we never created" is too
near "tasks the system created that we never created", a malfunction. Batch 28 (ids 191-200),
regional usage (Indian English, Swiss German, Latin American Spanish, Québec French, European
Portuguese): 3 of 50 outside on its first run, no dangerous miss in 20 and 3 over-escalations in
20, one request told three times (could you resend the October invoice, accounting "can't find
it", in English, German and Portuguese). A request to send a document again is now a signal (Low,
holding down a malfunction and the probe, no scope; `document-request` since batch 32, which
added quotes), tested per language. Batch 29
(ids 201-210), a developer platform's customers: 1 of 50 outside on its first run, no dangerous
miss in 20 and 1 over-escalation in 20 (a Spanish question when v1 is switched off after "el aviso
de retirada", read as severe by the probe), left as it is. Batch 30 (ids 211-220), deadlines
and blocked teams: 5 of 50 outside on its first run, 1 dangerous miss in 20 (in the review queue:
a Portuguese court filing due "até quinta", read as a legal matter without a date) and 4
over-escalations in 20 (what becomes of the data once the contract ends, read as data loss or
as severe, in English, German, Spanish and Portuguese). Weekdays after "até" are now dates, and
the data's fate at the contract's end is planning, tested per language. Batch 31 (ids 221-230),
written to tempt the policy both ways (severe problems told in passing, calm tickets that borrow
severe words): 17 of 50 outside on its first run, the worst of any batch, 2 dangerous misses in
20 (both in the review queue: a German enterprise customer whose Austrian customers cannot pay
by direct debit, "kann kein Kunde ... bezahlen" with the verb first, and Portuguese attachments
that "parecem ter sumido") and 10 over-escalations in 20 (how the vendor handles a security
incident, for a vendor questionnaire, read as a security incident in all five languages; a test
ticket deleted by mistake read as data loss in four; German thanks for an outage fixed, "alles
funktioniert wieder"). A vendor questionnaire and a question how the vendor handles an incident
are now `no-incident`, test tickets `not-production`, alerts about outages in general and
subscribing to them `supposed` and `how-to`; payments and lost data read the German verb-first
order and what "seems to have vanished"; each tested per language. Batch 32 (ids 231-240), e-mail
threads, forwarded mail and machine-written messages: 7 of 50 outside on its first run, no
dangerous miss in 20 and 6 over-escalations in 20 (a reply closing the thread, "everything is
running again since 14:05, you can close the ticket", above the quoted outage it answers, read as
the outage in English, Spanish, French and Portuguese; a forwarded security advisory with
"nothing suspicious on our side" read as severe in English and Portuguese), and a Spanish VIP's
request for a quote by Friday read as severe. Closing the ticket and everything running again
are now `all-clear`, a security advisory and nothing suspicious `no-incident`, and the `resend`
signal became `document-request`, which also takes a quote; each tested per language. Batch 33
(ids 241-250), terse tickets with anglicisms and slang: 9 of 50 outside on its first run, no
dangerous miss in 20 and 2 over-escalations in 20 (a wrong invoice address read as severe in
French and Portuguese), and a VIP's "link to the API docs is broken", read as severe by the
probe, taken to P1 by the VIP rule in all five languages. A rule can now ask what set the
severity (`severity_from`), and the VIP and paid-plan rules take a ticket to P1 only when words
or an example show it severe (two older tickets, cs-en-019 and tu-en-014, moved into their
levels with it); an invoice address to correct is `low-severity`. Batch 34 (ids 251-260),
several issues in one ticket, severity in the subject or a postscript, and negations: 10 of 50
outside on its first run, 5 dangerous misses in 20 (3 in the review queue: drivers who see no
routes, "sieht keiner unserer Fahrer", "ninguno ... ve", "aucun ... ne voit", after a request
to change the invoice e-mail; 2 outside it: a login alert from abroad told in a postscript under
thanks, in German and Spanish) and 5 over-escalations in 20 ("no outage or anything, just a
question" read as an outage in English and German; the colleagues fine in Spanish, French and
Portuguese turns of phrase not read as such). Nobody seeing what the product should show is now
a malfunction, a login alert from elsewhere a security incident, an outage denied sets the
outage signal aside (and leaves the probe and the trouble beside it), and the colleagues'
phrasings are `contained`; each tested per language. Batch 35 (ids 261-270), every ticket
with customer context or a custom field (a free plan, `affected_users`, a healthcare segment, an
internal account, a VIP): 3 of 50 outside on its first run, 1 dangerous miss in 20 (in the
review queue: a Spanish mass update that "sobrescribió" the phone numbers of 8,000 contacts) and
2 over-escalations in 20 (an internal account's "please ignore this ticket", sent to try an
integration, read as severe in English and Spanish). A message to ignore is now
`not-production`, and data loss reads overwriting in the past tense; both tested per language.
Batch 36 (ids 271-280), schools, public bodies and nonprofits: 8 of 50 outside on its first run,
6 dangerous misses in 20 (4 in the review queue; a teacher's admin password posted in the class
chat and used to change grades, missed in all five languages, in review in three; a Portuguese
ministry deadline, "o prazo do ministério vence amanhã") and 2 over-escalations in 20 (one
parent's reset e-mail that never arrives while "the other parents got theirs", read as severe in
English and Spanish). A password posted or leaked is now a security incident, "prazo .. vence" a
deadline, and the others having got theirs `contained`; each tested per language. Batch 37
(ids 281-290), time pressure from the calendar (Black Friday, payroll, a concert's doors): 1 of
50 outside on its first run, a dangerous miss in the review queue (Portuguese discount codes,
"nenhum dos nossos cupons ... funciona", two hours before Black Friday), and no over-escalation
in 20. None of something working is now a malfunction, tested per language. Batch 38 (ids
291-300), integrations (single sign-on, provisioning, webhooks, mail deliverability): 5 of 50
outside on its first run, 1 dangerous miss in 20 (in the review queue: a Portuguese contractor,
deactivated, who "continua com acesso" after SCIM gave him admin rights) and 1 over-escalation
in 20 (a French question which IP ranges the webhooks come from, read as severe). Someone
deactivated who still has access is now a security incident, and slowness "but it works"
`works-eventually`; both tested per language. Batch 39 (ids 301-310), mobile apps built
on the vendor's SDK: 11 of 50 outside on its first run, 6 dangerous misses in 20 (3 in the review
queue; an API secret key shipped inside the app bundle, "anyone who downloads the app can read
it", missed in English, Spanish, French and Portuguese; a Portuguese app that "fecha ao abrir"
for every user; Portuguese users' progress "zerado" after a migration) and 3 over-escalations in
20 (how to delete a user's account on request under GDPR, read as severe in German, Spanish and
Portuguese). An app that closes as soon as it opens is now a malfunction and "how do we delete"
a how-to, both tested per language; the secret key and the progress are left as they were (no
phrase names them without also naming harmless questions). Over batches 22 to 39 (900 tickets,
each run once before any change it prompted) 105 landed outside their levels: 31 dangerous
misses in 360 severe tickets (8.6%; 21 of them in the review queue) and 52 over-escalations in
360 calm ones (14.4%). Those first runs, not the table below, are the
estimate for tickets written by someone else.

{table(out, "fresh")}

### The holdout (`data/commonsense/holdout.jsonl`, 100 tickets written independently)

Written by another author with the same rubric, without seeing the set above or the policy's
phrase lists, with severe problems mostly described by their symptoms rather than stock
phrases; only measured, never used to tune or to fit the severity probe, and its texts were not
read while the policy was written (`data/commonsense/HOLDOUT.md`).

{table(out, "holdout")}

### The tickets-multilang dev split (522 tickets, no customer context)

Its urgency labels are machine-generated: high accepts P1/P2, medium P2/P3, low P3/P4. They
are often not about severity (tickets reporting a data breach or unauthorised access are
labeled low), so these rates measure agreement with those labels, not with the guidelines.
Since the urgency head's high needs the probe's agreement (`severe_needs_meaning`, after
d518b6c) the dev misses rose from 81 to 103 and the over-escalations fell from 44 to 38. Read
one by one, of the 22 tickets labeled high that newly land at P3, 11 are questions or requests
(system requirements, a marketing strategy, a billing statement), 7 one user's malfunction and
4 could be severe (several units losing connectivity, a customer's site down through a cloud
connectivity problem); those 4 are all in the review queue. The 6 newly right are questions and
one-user crashes labeled low.

{table(out, "dev")}

**No scorer meets the targets against these labels** (`bench/dev_ceiling.py`, same run). For
the two rates only the order in which a score ranks the tickets labeled high above those
labeled low matters (medium accepts P2 or P3), so sweeping every threshold of a score gives the
best any policy built on it could reach. Neither the peer trained on train nor its recipe
cross-validated on train and dev together (each fold fitted on four fifths of the very
distribution it is scored on) can hold over-escalation to 10% with fewer than about three fifths
of the high tickets missed: the labels' high and low are barely separable from the text (area under
the ROC curve near 0.7), which is why the targets are met on the sets written by the guidelines
and not here. triage's final priority ranks these labels worse than its own urgency head does,
because the policy orders tickets by the level guidelines (a breach labeled low goes up, a
question labeled high stays down), not by the generator's labels.

{ceiling(out)}
{END}"""


def splice(out, path):
    text = open(path).read()
    new = section(out)
    if START in text:
        text = text[:text.index(START)] + new + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    open(path, "w").write(text)


if __name__ == "__main__":
    splice(sys.argv[1], sys.argv[2])
