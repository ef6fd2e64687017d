//! Negation test set: synthesized visit fragments, each run through the product path (dialogue →
//! transcript with insights → note and ICD-10-CM suggestions). A condition that is denied, ruled
//! out, hypothetical or about a relative must never become a code or a diagnosis in the note's
//! ASSESSMENT; a condition asserted of the patient must become its code.

use veriscribe_core::formats::{MedicalCodesFile, NoteSection, NoteTemplate};
use veriscribe_core::stages::{self, ConversationSettings};

/// What a case expects of one condition.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Asserted of the patient: its code is suggested.
    Coded,
    /// Denied, ruled out, hypothetical or about family: no code, not in the assessment.
    NotCoded,
}

use Expect::{Coded, NotCoded};

struct Case {
    name: &'static str,
    dialogue: &'static str,
    /// (code, words the assessment must not contain when `NotCoded`, expectation).
    conditions: &'static [(&'static str, &'static str, Expect)],
}

/// Doctor opens, patient answers, doctor assesses: the shape of a short visit.
const CASES: &[Case] = &[
    // Negation said by the patient.
    Case {
        name: "denies",
        dialogue: "[doctor] What brings you in?\n[patient] I deny any chest pain, I just feel tired.\n[doctor] I think the fatigue is from poor sleep. We will check labs.",
        conditions: &[("R07.9", "chest pain", NotCoded), ("R53.83", "", Coded)],
    },
    Case {
        name: "no history of",
        dialogue: "[doctor] Any medical problems?\n[patient] No history of diabetes.\n[doctor] Good. Your hypertension is stable, continue lisinopril.",
        conditions: &[("E11.9", "diabetes", NotCoded), ("I10", "", Coded)],
    },
    Case {
        name: "haven't had",
        dialogue: "[doctor] How have you been?\n[patient] I haven't had any headaches since the last visit.\n[doctor] Great, that is good news.",
        conditions: &[("R51.9", "headache", NotCoded)],
    },
    Case {
        name: "never had",
        dialogue: "[doctor] Any breathing problems?\n[patient] I've never had asthma.\n[doctor] Okay.",
        conditions: &[("J45.909", "asthma", NotCoded)],
    },
    Case {
        name: "no X or Y",
        dialogue: "[doctor] How is your stomach?\n[patient] There's no nausea or vomiting.\n[doctor] Okay, good.",
        conditions: &[("R11.0", "nausea", NotCoded), ("R11.10", "vomiting", NotCoded)],
    },
    Case {
        name: "don't have",
        dialogue: "[doctor] Do you know your blood pressure?\n[patient] I don't have high blood pressure, it is always normal.\n[doctor] Good.",
        conditions: &[("I10", "blood pressure", NotCoded)],
    },
    Case {
        name: "no shortness of breath",
        dialogue: "[doctor] Tell me about the cough.\n[patient] It's a dry cough but there's no shortness of breath.\n[doctor] I think the cough is from allergies. Let's try a nasal spray.",
        conditions: &[("R06.02", "shortness of breath", NotCoded), ("R05.9", "", Coded)],
    },
    Case {
        name: "contrast keeps the positive",
        dialogue: "[doctor] Any other symptoms?\n[patient] No fever, but I do have a sore throat.\n[doctor] This looks like pharyngitis. Salt water gargles and rest.",
        conditions: &[("R50.9", "fever", NotCoded), ("J02.9", "", Coded)],
    },
    Case {
        name: "denies (third person)",
        dialogue: "[doctor] She denies dizziness or palpitations.\n[patient] That's right.\n[doctor] Her anemia is improving on iron.",
        conditions: &[
            ("R42", "dizziness", NotCoded),
            ("R00.2", "palpitations", NotCoded),
            ("D64.9", "", Coded),
        ],
    },
    // Negation said by the clinician while assessing.
    Case {
        name: "you do not have",
        dialogue: "[doctor] Your chest x-ray is clear.\n[doctor] You do not have pneumonia. I think this is bronchitis.\n[doctor] Rest and fluids.",
        conditions: &[("J18.9", "pneumonia", NotCoded), ("J40", "", Coded)],
    },
    Case {
        name: "ruled out",
        dialogue: "[doctor] The CT scan was normal, so we ruled out a stroke.\n[patient] That's a relief.\n[doctor] The dizziness is likely vertigo from the inner ear.",
        conditions: &[("I63.9", "stroke", NotCoded), ("R42", "", Coded)],
    },
    Case {
        name: "no evidence of",
        dialogue: "[doctor] Your echocardiogram shows no evidence of heart failure.\n[patient] Okay.\n[doctor] So your shortness of breath is likely from your asthma.",
        conditions: &[("I50.9", "heart failure", NotCoded), ("J45.909", "", Coded)],
    },
    Case {
        name: "negative for",
        dialogue: "[doctor] Review of systems is negative for fever and chills.\n[doctor] Your gout flare is in the left big toe. We'll start colchicine.",
        conditions: &[
            ("R50.9", "fever", NotCoded),
            ("R68.83", "chills", NotCoded),
            ("M10.9", "", Coded),
        ],
    },
    Case {
        name: "is negative (after the term)",
        dialogue: "[doctor] Your strep throat test is negative.\n[doctor] So this is a viral upper respiratory infection. Rest and fluids.",
        conditions: &[("J02.0", "strep", NotCoded), ("J06.9", "", Coded)],
    },
    Case {
        name: "free of",
        dialogue: "[doctor] You have been free of seizures for a year.\n[doctor] Your epilepsy is well controlled, continue Keppra.",
        conditions: &[("R56.9", "seizure", NotCoded), ("G40.909", "", Coded)],
    },
    Case {
        name: "has resolved",
        dialogue: "[doctor] How is the rash?\n[patient] The rash has resolved.\n[doctor] Good. Your eczema is under control.",
        conditions: &[("R21", "rash", NotCoded), ("L30.9", "", Coded)],
    },
    // A clinician's question answered no, or not answered.
    Case {
        name: "question answered no",
        dialogue: "[doctor] Any fever or chills?\n[patient] No.\n[doctor] Any cough?\n[patient] Yeah, a dry cough for a week.\n[doctor] I think this is a viral infection, it should pass.",
        conditions: &[
            ("R50.9", "fever", NotCoded),
            ("R68.83", "chills", NotCoded),
            ("R05.9", "", Coded),
        ],
    },
    Case {
        name: "question answered nope",
        dialogue: "[doctor] Do you have diabetes?\n[patient] Nope.\n[doctor] Okay. Your cholesterol is high, so this is hyperlipidemia. Start atorvastatin.",
        conditions: &[("E11.9", "diabetes", NotCoded), ("E78.5", "", Coded)],
    },
    Case {
        name: "question not answered",
        dialogue: "[doctor] Any history of kidney stones?\n[patient] Why do you ask?\n[doctor] Just routine.",
        conditions: &[("N20.0", "kidney stone", NotCoded)],
    },
    Case {
        name: "question answered yes",
        dialogue: "[doctor] Do you get migraines?\n[patient] Yes, about once a month.\n[doctor] Okay, we'll start sumatriptan for those.",
        conditions: &[("G43.909", "", Coded)],
    },
    // Hypothetical.
    Case {
        name: "if you get",
        dialogue: "[doctor] Your ear infection should clear with amoxicillin.\n[doctor] If you get a fever, call us.",
        conditions: &[("R50.9", "fever", NotCoded), ("H66.90", "", Coded)],
    },
    Case {
        name: "call me if it comes back",
        dialogue: "[doctor] Your reflux should improve on omeprazole.\n[doctor] Call me if the chest pain comes back.",
        conditions: &[("R07.9", "chest pain", NotCoded), ("K21.9", "", Coded)],
    },
    Case {
        name: "in case of",
        dialogue: "[doctor] This is gastroenteritis.\n[doctor] In case of vomiting, stop eating solids for a day.",
        conditions: &[("R11.10", "vomiting", NotCoded), ("K52.9", "", Coded)],
    },
    Case {
        name: "rule out",
        dialogue: "[doctor] Your leg is swollen, so we need to rule out a deep vein thrombosis with an ultrasound.\n[patient] Okay.",
        conditions: &[("I82.409", "thrombosis", NotCoded)],
    },
    Case {
        name: "watch for",
        dialogue: "[doctor] You have the flu.\n[doctor] Watch for shortness of breath and come in if it happens.",
        conditions: &[("R06.02", "shortness of breath", NotCoded), ("J11.1", "", Coded)],
    },
    Case {
        name: "risk of",
        dialogue: "[doctor] Your obesity raises the risk of diabetes, so let's work on diet and exercise.",
        conditions: &[("E11.9", "diabetes", NotCoded), ("E66.9", "", Coded)],
    },
    Case {
        name: "to prevent",
        dialogue: "[doctor] Your atrial fibrillation is rate controlled. We start Eliquis to prevent a stroke.",
        conditions: &[("I63.9", "stroke", NotCoded), ("I48.91", "", Coded)],
    },
    // Family history.
    Case {
        name: "mother had",
        dialogue: "[doctor] Any family history?\n[patient] My mother had breast cancer.\n[doctor] Okay, we'll start mammograms at forty.",
        conditions: &[("C50.919", "breast cancer", NotCoded)],
    },
    Case {
        name: "father has",
        dialogue: "[doctor] Anything run in the family?\n[patient] My father has diabetes and my brother had a heart attack.\n[doctor] Noted.",
        conditions: &[
            ("E11.9", "diabetes", NotCoded),
            ("I21.9", "heart attack", NotCoded),
        ],
    },
    Case {
        name: "family history of",
        dialogue: "[doctor] There is a family history of colon cancer, so we'll do a colonoscopy.\n[patient] Okay.",
        conditions: &[("C18.9", "colon cancer", NotCoded)],
    },
    Case {
        name: "relative then the patient",
        dialogue: "[doctor] Any breathing problems?\n[patient] My sister has asthma, and I have asthma too.\n[doctor] Your asthma is well controlled on the inhaler.",
        conditions: &[("J45.909", "", Coded)],
    },
    Case {
        name: "grandmother",
        dialogue: "[patient] My grandmother had dementia and I'm worried about it.\n[doctor] Your memory testing today is normal.",
        conditions: &[("F03.90", "dementia", NotCoded)],
    },
    // Positives.
    Case {
        name: "patient states a chronic condition",
        dialogue: "[doctor] Any medical problems?\n[patient] I have high blood pressure.\n[doctor] Okay, and you take lisinopril for that?\n[patient] Yes.",
        conditions: &[("I10", "", Coded)],
    },
    Case {
        name: "acute qualifier",
        dialogue: "[patient] I've had a cough for a week.\n[doctor] I think this is acute bronchitis. No antibiotics are needed.",
        conditions: &[("J20.9", "", Coded)],
    },
    Case {
        name: "type 2 diabetes",
        dialogue: "[doctor] Your type 2 diabetes is well controlled, your A1c is 6.8.\n[doctor] Continue metformin.",
        conditions: &[("E11.9", "", Coded)],
    },
    Case {
        name: "abbreviation afib",
        dialogue: "[doctor] Your afib is stable on metoprolol.\n[patient] Good.",
        conditions: &[("I48.91", "", Coded)],
    },
    Case {
        name: "laterality via site",
        dialogue: "[patient] I have pain in my right knee when I climb stairs.\n[doctor] The knee pain is likely from overuse. Ice and ibuprofen.",
        conditions: &[("M25.561", "", Coded)],
    },
    Case {
        name: "left shoulder",
        dialogue: "[doctor] You have left shoulder pain from a rotator cuff tear. We'll get an MRI.",
        // "left" is read only right before a term or its site, so the tear stays unspecified.
        conditions: &[("M25.512", "", Coded), ("M75.100", "", Coded)],
    },
    Case {
        name: "past diagnosis still counts",
        dialogue: "[doctor] You were diagnosed with depression last year and it is stable on sertraline.\n[patient] Yes.",
        conditions: &[("F32.A", "", Coded)],
    },
    Case {
        name: "plural symptom",
        dialogue: "[patient] I keep getting headaches in the afternoon.\n[doctor] These headaches are likely tension headaches. Try to drink more water.",
        conditions: &[("R51.9", "", Coded)],
    },
    Case {
        name: "synonym high cholesterol",
        dialogue: "[doctor] Your high cholesterol needs treatment. I'll start a statin.",
        conditions: &[("E78.00", "", Coded)],
    },
    Case {
        name: "uti",
        dialogue: "[patient] It burns when I pee.\n[doctor] Your urine test shows a UTI. I'll prescribe nitrofurantoin.",
        conditions: &[("N39.0", "", Coded)],
    },
];

struct Outcome {
    codes: Vec<String>,
    assessment: String,
}

fn run(case: &Case) -> Outcome {
    let settings = ConversationSettings {
        job_name: "negation-case".into(),
        ..ConversationSettings::default()
    };
    let transcript = stages::transcript_from_dialogue(case.dialogue, &settings)
        .unwrap_or_else(|e| panic!("case {:?}: {e}", case.name));
    let documentation = stages::documentation(&transcript, NoteTemplate::HistoryAndPhysical)
        .unwrap_or_else(|e| panic!("case {:?}: {e}", case.name));
    let codes: MedicalCodesFile = stages::medical_codes(&transcript);
    let assessment = documentation
        .clinical_documentation
        .sections
        .iter()
        .filter(|s| s.section_name == NoteSection::Assessment)
        .flat_map(|s| {
            s.summary
                .iter()
                .map(|i| i.summarized_segment.to_lowercase())
        })
        .collect::<Vec<_>>()
        .join("\n");
    Outcome {
        codes: codes
            .medical_codes
            .codes
            .into_iter()
            .map(|c| c.code)
            .collect(),
        assessment,
    }
}

#[test]
fn the_case_set_is_big_enough_and_balanced() {
    let (mut negatives, mut positives) = (0, 0);
    for case in CASES {
        for (_, _, expect) in case.conditions {
            match expect {
                NotCoded => negatives += 1,
                Coded => positives += 1,
            }
        }
    }
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
    assert!(
        negatives >= 30 && positives >= 20,
        "{negatives} negatives, {positives} positives"
    );
}

#[test]
fn negated_hypothetical_and_family_conditions_never_become_codes_or_diagnoses() {
    let mut failures = Vec::new();
    for case in CASES {
        let outcome = run(case);
        for (code, words, expect) in case.conditions {
            match expect {
                NotCoded => {
                    if outcome.codes.iter().any(|c| c == code) {
                        failures.push(format!("{}: {code} was suggested", case.name));
                    }
                    if !words.is_empty() && outcome.assessment.contains(words) {
                        failures.push(format!(
                            "{}: the assessment asserts {words:?}:\n{}",
                            case.name, outcome.assessment
                        ));
                    }
                }
                Coded => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn asserted_conditions_become_codes() {
    let mut failures = Vec::new();
    for case in CASES {
        let outcome = run(case);
        for (code, _, expect) in case.conditions {
            if *expect == Coded && !outcome.codes.iter().any(|c| c == code) {
                failures.push(format!(
                    "{}: {code} missing from {:?}",
                    case.name, outcome.codes
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
