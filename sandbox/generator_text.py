"""Words the generator draws from: names, countries and ticket subjects per locale."""

from __future__ import annotations

# Shares of Customer.locale in the generated shop.
LOCALE_WEIGHTS = {"en": 40, "fr": 30, "de": 15, "es": 15}

COUNTRIES = {
    "en": ("US", "GB", "CA", "AU", "IE"),
    "fr": ("FR", "BE", "CH", "CA"),
    "de": ("DE", "AT", "CH"),
    "es": ("ES", "MX", "AR"),
}

FIRST_NAMES = {
    "en": ("Olivia", "James", "Emma", "Noah", "Ava", "Liam", "Mia", "Ethan", "Grace", "Jack"),
    "fr": ("Camille", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Théo", "Inès", "Jules", "Zoé"),
    "de": ("Lena", "Lukas", "Hannah", "Jonas", "Mia", "Felix", "Sophie", "Paul", "Anna", "Max"),
    "es": ("Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Pablo", "Valeria", "Álvaro", "Paula"),
}

LAST_NAMES = {
    "en": ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "O'Brien", "Clark"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Lefèvre"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
    "es": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez"),
}

# Tags other apps put on customers: a tag push must never remove them.
OTHER_APP_TAGS = ("VIP", "newsletter", "wholesale", "Loyalty Gold", "klaviyo-synced")

# Subject templates by reason and locale; "{order}" becomes the order name.
TICKET_SUBJECTS = {
    "late": {
        "en": "Where is my order {order}?",
        "fr": "Où est ma commande {order} ?",
        "de": "Wo ist meine Bestellung {order}?",
        "es": "¿Dónde está mi pedido {order}?",
    },
    "return": {
        "en": "Return for order {order}",
        "fr": "Retour de la commande {order}",
        "de": "Rücksendung Bestellung {order}",
        "es": "Devolución del pedido {order}",
    },
    "question": {
        "en": "Question about sizing",
        "fr": "Question sur les tailles",
        "de": "Frage zur Größe",
        "es": "Pregunta sobre las tallas",
    },
}

TICKET_TAGS = {"late": ("shipping", "delay"), "return": ("returns",), "question": ("question",)}
