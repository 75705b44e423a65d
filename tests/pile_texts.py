"""Invented coverage for the mixed-pile tests: three unrelated stories of three articles each,
and a story of four articles with one off-topic article filed among them. All our own words."""

from __future__ import annotations

# Story A: the Harwick ferry line.
FERRY = [
    ("Harwick council approves ferry line to Kessel island",
     "The Harwick harbour council voted on Monday to open a ferry line between the old town pier "
     "and Kessel island, ending two years of debate about the cost of the service. Council members "
     "said the two ferries would run every forty minutes in summer and every hour in winter. "
     "Mayor Ilse Brandvik said the Kessel ferry line would cost the town about four million crowns "
     "a year. Islanders on Kessel have campaigned for a ferry since the old bridge closed."),
    ("Kessel ferry gets the green light from Harwick",
     "A ferry line between the Harwick pier and Kessel island was approved by the harbour council "
     "on Monday after two years of arguments over its cost. The ferries will run every forty "
     "minutes in summer, council members said. Mayor Ilse Brandvik called the vote a fair deal "
     "for Kessel islanders and for Harwick taxpayers. The first ferry should sail in May."),
    ("Harwick ferry vote: what islanders think",
     "Kessel islanders welcomed the Harwick council's ferry vote on Monday, though some said the "
     "fares announced by Mayor Ilse Brandvik were too high. The ferry line to the Harwick pier "
     "will run every hour in winter. Shop owners on Kessel said the ferry would bring back the "
     "visitors they lost when the bridge closed."),
]

# Story B: the Tarvik volcano.
VOLCANO = [
    ("Tarvik volcano alert raised to orange after swarm of quakes",
     "Seismologists recorded more than two hundred small earthquakes beneath the Tarvik volcano "
     "over the weekend and raised the alert level to orange. Villages on the northern slope of "
     "Tarvik were told to prepare for an evacuation. Dr Anja Reiss of the geological survey said "
     "magma was rising under the crater. Tarvik last erupted in 1961."),
    ("Villages near Tarvik ready to evacuate as magma rises",
     "Families in the villages below the Tarvik volcano packed their cars on Sunday after the "
     "alert level was raised to orange. The geological survey counted two hundred earthquakes "
     "under Tarvik in two days. Dr Anja Reiss said the crater floor had risen by ten centimetres, "
     "a sign that magma is moving."),
    ("Tarvik: what an orange alert means",
     "An orange alert on the Tarvik volcano means an eruption is possible within days, the "
     "geological survey said. Dr Anja Reiss said the earthquakes under Tarvik were shallow and "
     "growing stronger. Roads on the northern slope will close if the alert turns red, and the "
     "villages will be evacuated."),
]

# Story C: the national chess final.
CHESS = [
    ("Mara Okonjo wins national chess final in Dunmore",
     "Nineteen-year-old Mara Okonjo won the national chess championship final in Dunmore on "
     "Saturday, beating the defending champion Pieter Vandal in a rook ending of ninety moves. "
     "Okonjo is the youngest chess champion in forty years. The Dunmore final lasted six games."),
    ("Okonjo dethrones Vandal in six-game chess final",
     "Pieter Vandal lost his chess title to Mara Okonjo in Dunmore on Saturday after six games. "
     "Okonjo, nineteen, won the decisive sixth game with the black pieces. Vandal said the "
     "challenger had prepared the opening better than any rival he had faced in Dunmore."),
    ("A new chess champion: who is Mara Okonjo?",
     "Mara Okonjo learned chess from her grandfather in Dunmore and entered her first tournament "
     "at eight. On Saturday she beat Pieter Vandal to win the national chess final. Her coach "
     "said Okonjo studies rook endings for three hours a day."),
]

STORIES = {"ferry": FERRY, "volcano": VOLCANO, "chess": CHESS}

# A story of four articles about a water main bursting in Leeford, and one off-topic article
# (a celebrity wedding) that would win the headline and the lead if it were treated as part of
# the story: filed first, dated first, the longest, with a plain, summary-worthy lead.
WATER = [
    ("Water main bursts under Leeford high street",
     "A water main burst under Leeford high street on Tuesday morning, flooding shops and cutting "
     "water to four thousand homes. Leeford water company engineers said the pipe was more than "
     "a century old. Repairs on the high street are expected to take three days."),
    ("Leeford homes without water after main bursts",
     "Four thousand homes in Leeford were without water on Tuesday after a main burst under the "
     "high street. The Leeford water company handed out bottled water at the town hall. "
     "Engineers said the century-old pipe would be replaced."),
    ("Shops flooded as Leeford water main gives way",
     "Shop owners on Leeford high street spent Tuesday pumping water out of their cellars after "
     "the water main burst. The water company said repairs would take three days and that "
     "homes would get water back by Wednesday night."),
    ("Leeford water main: repairs under way",
     "Engineers from the Leeford water company began replacing the burst main under the high "
     "street on Tuesday afternoon. About four thousand homes remain without water, and bottled "
     "water is available at the town hall."),
]
WEDDING = (
    "Film star Delphine Maro marries in a glittering ceremony on the Riviera",
    "Film star Delphine Maro married the racing driver Luca Benetti on Saturday in a ceremony at "
    "a hilltop villa on the Riviera, attended by three hundred guests from the worlds of cinema "
    "and motor racing. The bride wore a gown by the designer Aurelio Sarti, who said he had "
    "worked on it for eight months. Guests included several Oscar winners and two former world "
    "champions. The couple met at a charity gala in Monaco four years ago and announced their "
    "engagement last spring. After the ceremony, the guests dined on the terrace of the villa "
    "while an orchestra played until dawn. The couple will spend their honeymoon sailing "
    "between the Greek islands, a spokesman for Maro said. Maro's next film, a thriller set in "
    "Lisbon, opens in cinemas in the autumn. Benetti will return to racing in the new season.",
)
